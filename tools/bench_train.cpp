// `medsam bench train-step`: samples/s and peak memory of full training steps (forward, MedSAM loss,
// backward, AdamW) of the chosen preset with random weights on synthetic batches, on the CPU.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "medsam/core/config.h"
#include "medsam/core/log.h"
#include "medsam/model/build_sam.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"
#include "tools/bench.h"

namespace medsam::tools {
namespace {

struct TrainBenchOptions {
  ConfigOptions config;
  int threads = 0;
  int iters = 2;
  int warmup = 1;
  int batch = 1;
  bool activation_checkpointing = false;
  std::string loss_resolution = "full";
};

int run_train_step(const TrainBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.threads > 0) torch::set_num_threads(o.threads);
  TrainConfig t = config.train;
  t.device = "cpu";
  t.init_checkpoint.clear();
  t.max_steps = o.warmup + o.iters;
  t.epochs = 0;
  t.threads = 0;
  t.activation_checkpointing = o.activation_checkpointing;
  t.loss.resolution = o.loss_resolution;
  t.validation.every_steps = 0;
  t.logs.csv = t.logs.tensorboard = false;
  t.logs.progress = "lines";
  namespace fs = std::filesystem;
  t.output_dir = (fs::temp_directory_path() / fmt::format("medsam_bench_train_{}", ::getpid())).string();

  const int64_t S = config.model.image_encoder.img_size;
  train::SyntheticSourceOptions so;
  so.image_size = S;
  so.batch_size = o.batch;
  so.batches_per_epoch = o.warmup + o.iters + 1;
  so.seed = 0;
  train::SyntheticSource source(so);
  bench::reset_peak_rss();
  torch::manual_seed(0);
  train::Trainer trainer(t, build_sam(config.model), source, "");
  const double base = bench::peak_rss_mib();
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, [&] { trainer.train_step(); });
  const double peak = bench::peak_rss_mib();
  std::error_code ec;
  fs::remove_all(t.output_dir, ec);
  fmt::print("train-step {} {}x{} batch={} threads={} activation_checkpointing={} loss={} frozen=[{}]: mean {:.3f} s/step "
             "= {:.3f} samples/s, min {:.3f} s ({} iters, {} warmup); peak RSS {:.0f} MiB (model built: {:.0f} MiB, "
             "training adds {:.0f} MiB)\n",
             config.model.arch, S, S, o.batch, torch::get_num_threads(), o.activation_checkpointing ? "on" : "off",
             o.loss_resolution, fmt::join(t.freeze, ","), mean, o.batch / mean, best, o.iters, o.warmup, peak, base,
             peak - base);
  return 0;
}

RunFn add_train_step_bench(CLI::App& sub) {
  auto o = std::make_shared<TrainBenchOptions>();
  o->config.add_to(sub);
  sub.add_option("--batch", o->batch, "images (one box each) per step")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub.add_option("--iters", o->iters, "timed steps")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--warmup", o->warmup, "untimed steps first (AdamW allocates its moments in the first)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--activation-checkpointing", o->activation_checkpointing, "recompute ViT blocks in backward");
  sub.add_option("--loss-resolution", o->loss_resolution, "full (MedSAM: logits upsampled to the image) or low")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "low"}));
  return [o] { return run_train_step(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("train-step", "full training step (forward, loss, backward, AdamW): samples/s and peak memory",
                  add_train_step_bench);

}  // namespace medsam::tools
