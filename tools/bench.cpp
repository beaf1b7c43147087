// `medsam bench encoder|decoder`: seconds per image (encoder) or per box (prompt encoder + decoder)
// and peak memory, with random weights of the chosen preset. Inference mode, fp32, CPU.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <string>

#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/model/build_sam.h"
#include "tools/command.h"

namespace medsam::tools {
namespace {

struct BenchOptions {
  std::string what;
  int threads = 0;
  int iters = 3;
  int warmup = 1;
  int boxes = 1;
  std::string attention = "fast";
  int64_t chunk = kDefaultAttentionChunkElements;
};

// Linux: peak resident set size (VmHWM) in MiB; reset_peak() restarts it from the current RSS.
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

template <class Fn>
std::pair<double, double> time_runs(int warmup, int iters, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  double total = 0, best = 1e30;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s;
    best = std::min(best, s);
  }
  return {total / iters, best};
}

int run_bench(const Config& config, const BenchOptions& o) {
  if (o.threads > 0) torch::set_num_threads(o.threads);
  c10::InferenceMode guard;
  torch::manual_seed(0);
  const auto& mc = config.model;
  Sam sam = build_sam(mc);
  sam->eval();
  if (o.attention != "fast" && o.attention != "reference")
    throw UsageError("--attention must be fast or reference, got '" + o.attention + "'");
  sam->image_encoder->set_attention_path(o.attention == "fast" ? AttentionPath::kFast : AttentionPath::kReference,
                                         o.chunk);
  const int64_t S = mc.image_encoder.img_size;
  const int64_t g = S / mc.image_encoder.patch_size;
  const double model_mib = peak_rss_mib();

  if (o.what == "encoder") {
    const auto image = torch::rand({1, 3, S, S});
    reset_peak();
    const double base = peak_rss_mib();
    const auto [mean, best] = time_runs(o.warmup, o.iters, [&] { sam->encode(image); });
    const double peak = peak_rss_mib();
    fmt::print("encoder {} {}x{} threads={} attention={} chunk={}: mean {:.3f} s/image, min {:.3f} s ({} iters, "
               "{} warmup); peak RSS {:.0f} MiB (model loaded: {:.0f} MiB, forward adds {:.0f} MiB)\n",
               mc.arch, S, S, torch::get_num_threads(), o.attention, o.chunk, mean, best, o.iters, o.warmup, peak,
               base, peak - base);
    (void)model_mib;
    return 0;
  }
  if (o.what == "decoder") {
    const auto embedding = torch::randn({1, mc.image_encoder.out_chans, g, g});
    const auto xy = torch::rand({o.boxes, 2}) * (S / 2);
    Prompts p;
    p.boxes = torch::cat({xy, xy + S / 4}, 1);  // (N, 4)
    reset_peak();
    const double base = peak_rss_mib();
    const auto [mean, best] = time_runs(o.warmup, o.iters, [&] { sam->decode(embedding, p, false); });
    const double peak = peak_rss_mib();
    fmt::print("decoder {} threads={} boxes={}: mean {:.2f} ms/call = {:.2f} ms/box, min {:.2f} ms/call ({} iters, "
               "{} warmup); peak RSS {:.0f} MiB (forward adds {:.0f} MiB)\n",
               mc.arch, torch::get_num_threads(), o.boxes, mean * 1e3, mean * 1e3 / o.boxes, best * 1e3, o.iters,
               o.warmup, peak, peak - base);
    return 0;
  }
  throw UsageError("bench: say what to measure: encoder or decoder, got '" + o.what + "'");
}

}  // namespace

RunFn add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure encoder and decoder speed and memory (random weights)");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  auto o = std::make_shared<BenchOptions>();
  sub->add_option("what", o->what, "encoder (seconds per image) or decoder (prompt encoder + decoder, per box)")
      ->required()
      ->check(CLI::IsMember({"encoder", "decoder"}));
  sub->add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub->add_option("--iters", o->iters, "timed repetitions")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--warmup", o->warmup, "untimed repetitions first")->capture_default_str();
  sub->add_option("--boxes", o->boxes, "decoder: boxes per call on one image")->capture_default_str();
  sub->add_option("--attention", o->attention, "encoder attention: fast or reference")->capture_default_str();
  sub->add_option("--chunk", o->chunk, "fast attention: logits per chunk")->capture_default_str();
  return [options, o]() {
    Config config = options->resolve();
    if (options->dump_if_asked(config)) return 0;
    return run_bench(config, *o);
  };
}

}  // namespace medsam::tools
