// `medsam bench infer-volume --arch tiny|vit_b`: slices/s of 3D inference by box propagation
// (medsam::infer::segment_volume) on a synthetic volume, random weights, CPU (fp32, or bf16 encoder), for each
// --encode-batch K (slices per encoder call); also checks the masks do not depend on K.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <vector>

#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/infer/predictor.h"
#include "medsam/infer/volume_infer.h"
#include "medsam/model/build_sam.h"
#include "tools/bench.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace {

struct VolumeBenchOptions {
  ConfigOptions config;
  int slices = 8;       // slices inside the 3D box
  int size = 256;       // slice height and width in voxels
  std::vector<int> batches{1, 4};
  int threads = 0;
  std::string precision = "fp32";
};

// (slices + 2, size, size) uint8: an ellipsoid of grey 180 with a brighter core in low noise.
at::Tensor synthetic_volume(int slices, int size) {
  torch::manual_seed(1);
  const int64_t depth = slices + 2;
  auto z = torch::arange(depth, at::kFloat).view({-1, 1, 1}) - (depth - 1) / 2.0;
  auto y = torch::arange(size, at::kFloat).view({1, -1, 1}) - (size - 1) / 2.0;
  auto x = torch::arange(size, at::kFloat).view({1, 1, -1}) - (size - 1) / 2.0;
  const double rz = std::max(1.0, depth / 2.0), r = size / 4.0;
  auto d = (z / rz).pow(2) + (y / r).pow(2) + (x / r).pow(2);
  auto v = torch::rand({depth, size, size}) * 30 + (d < 1).to(at::kFloat) * 150 + (d < 0.3).to(at::kFloat) * 60;
  return v.clamp(0, 255).to(at::kByte);
}

int run_volume_bench(const VolumeBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  c10::InferenceMode guard;
  infer::Predictor predictor(build_sam(config.model), c10::kCPU, parse_precision(o.precision, c10::kCPU));
  const at::Tensor volume = synthetic_volume(o.slices, o.size);
  const double q = o.size / 4.0;
  const infer::Box3d box{q - 4, q - 4, 1, 3 * q + 4, 3 * q + 4, double(o.slices)};  // z 1..slices inclusive
  at::Tensor first;
  for (int k : o.batches) {
    infer::PropagationOptions opt;
    opt.encode_batch = k;
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor mask = infer::segment_volume(predictor, volume, box, opt);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string same = "reference run";
    if (first.defined()) same = torch::equal(first, mask) ? "masks equal to the first run" : "MASKS DIFFER from the first run";
    else first = mask;
    fmt::print("infer-volume {} img_size={} precision={} threads={} slices={} ({}x{}) encode_batch={}: {:.2f} s = {:.3f} slices/s "
               "({:.2f} s/slice); {} foreground voxels, {}\n",
               config.model.arch, config.model.image_encoder.img_size, o.precision, torch::get_num_threads(), o.slices,
               o.size, o.size, k, s, o.slices / s, s / o.slices, mask.sum().item<int64_t>(), same);
  }
  return 0;
}

RunFn add_volume_bench(CLI::App& sub) {
  auto o = std::make_shared<VolumeBenchOptions>();
  o->config.add_to(sub);
  sub.add_option("--slices", o->slices, "slices in the 3D box")->capture_default_str()->check(at_least_one());
  sub.add_option("--size", o->size, "slice size in voxels (square)")->capture_default_str()->check(CLI::Range(32, 4096));
  sub.add_option("--encode-batch", o->batches, "slices per encoder call (repeatable: one run per value)")
      ->capture_default_str()
      ->check(at_least_one());
  sub.add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub.add_option("--precision", o->precision, "fp32, or bf16 (the image encoder autocasts)")
      ->capture_default_str()
      ->check(CLI::IsMember(precision_names()));
  return [o] { return run_volume_bench(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("infer-volume", "3D inference by box propagation: slices/s per --encode-batch (random weights)",
                  add_volume_bench);

}  // namespace medsam::tools
