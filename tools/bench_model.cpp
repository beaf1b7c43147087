// `medsam bench encoder|decoder`: seconds per image (image encoder) or per box (prompt encoder + mask
// decoder) and peak memory, with random weights of the chosen preset. Inference mode; CPU in fp32, or
// CUDA in fp32 or bf16 autocast (--device cuda --precision bf16).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "medsam/core/config.h"
#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/infer/predictor.h"
#include "medsam/model/build_sam.h"
#include "tools/bench.h"
#include "tools/bench_profile.h"
#include "tools/bench_attention.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace {

struct ModelBenchOptions {
  ConfigOptions config;
  int threads = 0;
  int iters = 3;
  int warmup = 1;
  int boxes = 1;
  int batch = 1;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string attention = "fast";
  std::string decoder_path = "fast";
  std::string sdpa = "auto";
  std::string fold_kernel = "token";
  int64_t chunk = kDefaultAttentionChunkElements;
  std::string profile;
};

std::shared_ptr<ModelBenchOptions> add_common(CLI::App& sub) {
  auto o = std::make_shared<ModelBenchOptions>();
  o->config.add_to(sub);
  sub.add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub.add_option("--iters", o->iters, "timed repetitions")->capture_default_str()->check(at_least_one());
  sub.add_option("--warmup", o->warmup, "untimed repetitions first")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub.add_option("--precision", o->precision, "fp32, bf16 (autocast: the whole model on CUDA, the image encoder on the CPU; the encoder's residual stream "
                 "in bf16) or bf16-autocast (that stream in fp32, exactly torch.autocast)")
      ->capture_default_str()
      ->check(CLI::IsMember(precision_names()));
  sub.add_option("--profile", o->profile,
                 "after the timed runs, profile one more and write its Chrome trace here "
                 "(summary: scripts/gpu/trace_summary.py FILE)");
  return o;
}

Sam build_for_bench(const ModelBenchOptions& o, const Config& config, const c10::Device& device) {
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  Sam sam = build_sam(config.model);
  sam->eval();
  sam->to(device);
  return sam;
}

int run_encoder(const ModelBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  const c10::Device device = parse_device(o.device);
  bench::apply_sdpa_option(o.sdpa);
  c10::InferenceMode guard;
  Sam sam = build_for_bench(o, config, device);
  sam->image_encoder->set_attention_path(parse_attention_path(o.attention), o.chunk);
  set_fold_kernel(parse_fold_kernel(o.fold_kernel));
  const std::string fold_kernel = fold_kernel_available() ? o.fold_kernel : "none";
  const Precision precision_choice = parse_precision(o.precision, device);
  // As the Predictor does: bf16-autocast keeps the residual stream in fp32 (torch.autocast's numerics).
  sam->image_encoder->inference_stream = residual_stream_for(precision_choice);
  const auto& mc = config.model;
  const int64_t S = mc.image_encoder.img_size;
  const auto image = torch::rand({o.batch, 3, S, S}).to(device);
  const PrecisionScope precision(precision_choice, device, ModelPart::kImageEncoder);
  synchronize(device);
  bench::reset_peak_rss();
  reset_cuda_peak(device);
  const double base = bench::peak_rss_mib();
  const auto encode = [&] {
    sam->encode(image);
    synchronize(device);
  };
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, encode);
  if (!o.profile.empty()) bench::profile_once(o.profile, device.is_cuda(), encode);
  const std::string kernels = device.is_cuda() ? bench::sdpa_kernels_of(encode) : std::string();
  fmt::print("encoder {} {}x{} device={} precision={} batch={} threads={} attention={} chunk={} sdpa={} fold-kernel={}: mean {:.4f} "
             "s/batch = {:.4f} s/image = {:.2f} images/s, min {:.4f} s/batch ({} iters, {} warmup); {}\n{}",
             mc.arch, S, S, device.str(), o.precision, o.batch, torch::get_num_threads(), o.attention, o.chunk, o.sdpa, fold_kernel,
             mean, mean / o.batch, o.batch / mean, best, o.iters, o.warmup,
             bench::memory_note(device.is_cuda(), cuda_peak_allocated_mib(device), base, "model loaded", "the forward"),
             kernels);
  return 0;
}

int run_decoder(const ModelBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.boxes < 1) throw UsageError("--boxes must be at least 1");
  const c10::Device device = parse_device(o.device);
  c10::InferenceMode guard;
  Sam sam = build_for_bench(o, config, device);
  sam->mask_decoder->use_fast_path = o.decoder_path == "fast";
  const auto& mc = config.model;
  const int64_t S = mc.image_encoder.img_size;
  const int64_t g = S / mc.image_encoder.patch_size;
  const auto embedding = torch::randn({1, mc.image_encoder.out_chans, g, g}).to(device);
  const auto xy = torch::rand({o.boxes, 2}) * (S / 2);
  Prompts p;
  p.boxes = torch::cat({xy, xy + S / 4}, 1).to(device);  // (N, 4)
  const PrecisionScope precision(parse_precision(o.precision, device), device,
                                        ModelPart::kPromptAndMaskDecoder);
  synchronize(device);
  bench::reset_peak_rss();
  reset_cuda_peak(device);
  const double base = bench::peak_rss_mib();
  std::vector<double> seconds;  // every call, warm-up first: the median is of the timed ones
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, [&] {
    const auto t0 = std::chrono::steady_clock::now();
    sam->decode(embedding, p, false);
    synchronize(device);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
  if (!o.profile.empty())
    bench::profile_once(o.profile, device.is_cuda(), [&] {
      sam->decode(embedding, p, false);
      synchronize(device);
    });
  const double median = bench::median_of(std::vector<double>(seconds.end() - o.iters, seconds.end()));
  fmt::print("decoder {} device={} precision={} threads={} boxes={} path={}: mean {:.3f} ms/call = {:.3f} ms/box = {:.0f} "
             "boxes/s, median {:.3f} ms/call, min {:.3f} ms/call ({} iters, {} warmup); {}\n",
             mc.arch, device.str(), o.precision, torch::get_num_threads(), o.boxes, o.decoder_path, mean * 1e3,
             mean * 1e3 / o.boxes, o.boxes / mean, median * 1e3, best * 1e3, o.iters, o.warmup,
             bench::memory_note(device.is_cuda(), cuda_peak_allocated_mib(device), base, "model loaded", "the forward"));
  return 0;
}

RunFn add_encoder_bench(CLI::App& sub) {
  auto o = add_common(sub);
  sub.add_option("--chunk", o->chunk, "fast attention: logits per chunk")->capture_default_str();
  sub.add_option("--batch", o->batch, "images per encoder call")->capture_default_str()->check(at_least_one());
  bench::add_attention_options(sub, o->attention, o->sdpa);
  sub.add_option("--fold-kernel", o->fold_kernel,
                 "the fold of the in-place folded attention (CUDA, bf16): token or pair, by medsam's CUDA kernel "
                 "with a warp per token or per (token, head) where the build has it (the result line says "
                 "fold-kernel=none where not); off: by ATen ops")
      ->capture_default_str()
      ->check(CLI::IsMember(fold_kernel_names()));
  return [o] { return run_encoder(*o); };
}

RunFn add_decoder_bench(CLI::App& sub) {
  auto o = add_common(sub);
  sub.add_option("--boxes", o->boxes, "boxes per call on one image")->capture_default_str();
  sub.add_option("--path", o->decoder_path,
                 "fast (CPU fp32 inference path) or reference (SAM's formulation, MaskDecoder::predict_masks)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fast", "reference"}));
  return [o] { return run_decoder(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("encoder", "image encoder: seconds per image and peak memory (random weights)", add_encoder_bench);
MEDSAM_BENCH_KIND("decoder", "prompt encoder + mask decoder: ms per box (random weights)", add_decoder_bench);

}  // namespace medsam::tools
