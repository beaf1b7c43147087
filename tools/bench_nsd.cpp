// `medsam bench nsd --size 512,512,300`: DSC + NSD of two synthetic overlapping ellipsoids of that
// size (x, y, z voxels), seconds and peak memory. Issue 10's target: under 5 s for 512x512x300.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/eval/dice.h"
#include "medsam/eval/surface_distance.h"
#include "tools/bench.h"

namespace medsam::tools {
namespace {

struct NsdBenchOptions {
  std::vector<int64_t> size{512, 512, 300};   // x, y, z
  std::vector<double> spacing{0.8, 0.8, 2.5};  // x, y, z mm
  double tolerance = 2.0;
  int iters = 1;
  int warmup = 0;
};

// (z, y, x) bool ellipsoid with semi-axes `frac` of the half-size, centre shifted by `shift` voxels.
at::Tensor ellipsoid(const std::vector<int64_t>& xyz, std::array<double, 3> frac, std::array<double, 3> shift) {
  auto axis = [](int64_t n, double s) { return torch::arange(n, torch::kFloat) - ((n - 1) / 2.0 + s); };
  const auto x = axis(xyz[0], shift[0]).view({1, 1, -1}) / (frac[0] * xyz[0] / 2);
  const auto y = axis(xyz[1], shift[1]).view({1, -1, 1}) / (frac[1] * xyz[1] / 2);
  const auto z = axis(xyz[2], shift[2]).view({-1, 1, 1}) / (frac[2] * xyz[2] / 2);
  return x.pow(2) + y.pow(2) + z.pow(2) <= 1;
}

int run_nsd(const NsdBenchOptions& o) {
  if (o.size.size() != 3 || o.size[0] < 2 || o.size[1] < 2 || o.size[2] < 2)
    throw UsageError("--size must be x,y,z with each >= 2, e.g. 512,512,300");
  if (o.spacing.size() != 3 || !(o.spacing[0] > 0 && o.spacing[1] > 0 && o.spacing[2] > 0))
    throw UsageError("--spacing must be x,y,z mm, all > 0");
  if (o.iters < 1) throw UsageError("--iters must be at least 1");
  c10::InferenceMode guard;
  // Ground truth fills ~80% of each axis; the prediction is a slightly different ellipsoid moved by a
  // few voxels (a realistic near-miss: DSC ~0.97, part of the surface beyond 2 mm).
  const at::Tensor gt = ellipsoid(o.size, {0.8, 0.75, 0.8}, {0, 0, 0});
  const at::Tensor pred = ellipsoid(o.size, {0.78, 0.77, 0.79}, {3, -2, 1});
  const std::vector<double> spacing_zyx{o.spacing[2], o.spacing[1], o.spacing[0]};
  bench::reset_peak_rss();
  const double base = bench::peak_rss_mib();
  double dsc = 0, nsd = 0;
  const auto [dsc_mean, dsc_min] = bench::time_runs(o.warmup, o.iters, [&] { dsc = eval::dice(pred, gt); });
  const auto [nsd_mean, nsd_min] = bench::time_runs(
      o.warmup, o.iters, [&] { nsd = eval::normalized_surface_dice(pred, gt, spacing_zyx, o.tolerance); });
  const double peak = bench::peak_rss_mib();
  fmt::print("nsd {}x{}x{} (x,y,z) spacing {},{},{} mm threads={}: DSC {:.4f} in {:.3f} s, NSD@{}mm {:.4f} in "
             "{:.3f} s (min {:.3f} s), DSC+NSD {:.3f} s ({} iters, {} warmup); peak RSS {:.0f} MiB (masks: {:.0f} "
             "MiB, scoring adds {:.0f} MiB)\n",
             o.size[0], o.size[1], o.size[2], o.spacing[0], o.spacing[1], o.spacing[2], torch::get_num_threads(), dsc,
             dsc_mean, o.tolerance, nsd, nsd_mean, nsd_min, dsc_mean + nsd_mean, o.iters, o.warmup, peak, base,
             peak - base);
  return 0;
}

RunFn add_nsd_bench(CLI::App& sub) {
  auto o = std::make_shared<NsdBenchOptions>();
  sub.add_option("--size", o->size, "volume size x,y,z in voxels")->delimiter(',')->capture_default_str();
  sub.add_option("--spacing", o->spacing, "voxel size x,y,z in mm")->delimiter(',')->capture_default_str();
  sub.add_option("--tolerance", o->tolerance, "NSD tolerance in mm")->capture_default_str();
  sub.add_option("--iters", o->iters, "timed repetitions")->capture_default_str();
  sub.add_option("--warmup", o->warmup, "untimed repetitions first")->capture_default_str();
  return [o] { return run_nsd(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("nsd", "DSC + NSD of two synthetic 3D objects: seconds and peak memory", add_nsd_bench);

}  // namespace medsam::tools
