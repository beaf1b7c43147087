// `medsam bench encoder|decoder`: seconds per image (image encoder) or per box (prompt encoder + mask
// decoder) and peak memory, with random weights of the chosen preset. Inference mode, fp32, CPU.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/model/build_sam.h"
#include "tools/bench.h"

namespace medsam::tools {
namespace {

struct ModelBenchOptions {
  ConfigOptions config;
  int threads = 0;
  int iters = 3;
  int warmup = 1;
  int boxes = 1;
  std::string attention = "fast";
  int64_t chunk = kDefaultAttentionChunkElements;
};

std::shared_ptr<ModelBenchOptions> add_common(CLI::App& sub) {
  auto o = std::make_shared<ModelBenchOptions>();
  o->config.add_to(sub);
  sub.add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub.add_option("--iters", o->iters, "timed repetitions")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--warmup", o->warmup, "untimed repetitions first")->capture_default_str();
  return o;
}

Sam build_for_bench(const ModelBenchOptions& o, const Config& config) {
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  Sam sam = build_sam(config.model);
  sam->eval();
  return sam;
}

int run_encoder(const ModelBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.attention != "fast" && o.attention != "reference")
    throw UsageError("--attention must be fast or reference, got '" + o.attention + "'");
  c10::InferenceMode guard;
  Sam sam = build_for_bench(o, config);
  sam->image_encoder->set_attention_path(o.attention == "fast" ? AttentionPath::kFast : AttentionPath::kReference,
                                         o.chunk);
  const auto& mc = config.model;
  const int64_t S = mc.image_encoder.img_size;
  const auto image = torch::rand({1, 3, S, S});
  bench::reset_peak_rss();
  const double base = bench::peak_rss_mib();
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, [&] { sam->encode(image); });
  const double peak = bench::peak_rss_mib();
  fmt::print("encoder {} {}x{} threads={} attention={} chunk={}: mean {:.3f} s/image, min {:.3f} s ({} iters, "
             "{} warmup); peak RSS {:.0f} MiB (model loaded: {:.0f} MiB, forward adds {:.0f} MiB)\n",
             mc.arch, S, S, torch::get_num_threads(), o.attention, o.chunk, mean, best, o.iters, o.warmup, peak, base,
             peak - base);
  return 0;
}

int run_decoder(const ModelBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.boxes < 1) throw UsageError("--boxes must be at least 1");
  c10::InferenceMode guard;
  Sam sam = build_for_bench(o, config);
  const auto& mc = config.model;
  const int64_t S = mc.image_encoder.img_size;
  const int64_t g = S / mc.image_encoder.patch_size;
  const auto embedding = torch::randn({1, mc.image_encoder.out_chans, g, g});
  const auto xy = torch::rand({o.boxes, 2}) * (S / 2);
  Prompts p;
  p.boxes = torch::cat({xy, xy + S / 4}, 1);  // (N, 4)
  bench::reset_peak_rss();
  const double base = bench::peak_rss_mib();
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, [&] { sam->decode(embedding, p, false); });
  const double peak = bench::peak_rss_mib();
  fmt::print("decoder {} threads={} boxes={}: mean {:.2f} ms/call = {:.2f} ms/box, min {:.2f} ms/call ({} iters, "
             "{} warmup); peak RSS {:.0f} MiB (forward adds {:.0f} MiB)\n",
             mc.arch, torch::get_num_threads(), o.boxes, mean * 1e3, mean * 1e3 / o.boxes, best * 1e3, o.iters,
             o.warmup, peak, peak - base);
  return 0;
}

RunFn add_encoder_bench(CLI::App& sub) {
  auto o = add_common(sub);
  sub.add_option("--attention", o->attention, "fast or reference (SAM's formula)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fast", "reference"}));
  sub.add_option("--chunk", o->chunk, "fast attention: logits per chunk")->capture_default_str();
  return [o] { return run_encoder(*o); };
}

RunFn add_decoder_bench(CLI::App& sub) {
  auto o = add_common(sub);
  sub.add_option("--boxes", o->boxes, "boxes per call on one image")->capture_default_str();
  return [o] { return run_decoder(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("encoder", "image encoder: seconds per image and peak memory (random weights)", add_encoder_bench);
MEDSAM_BENCH_KIND("decoder", "prompt encoder + mask decoder: ms per box (random weights)", add_decoder_bench);

}  // namespace medsam::tools
