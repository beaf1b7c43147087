// `medsam bench train-step`: samples/s and peak memory of full training steps (forward, MedSAM loss,
// backward, AdamW) of the chosen preset with random weights on synthetic batches, on the CPU or a GPU
// (fp32 or bf16 autocast). --dist-backend gloo|nccl adds the gradient all-reduce of a process group
// (the environment's world, or a world of one with a real backend) to every step.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "medsam/core/config.h"
#include "medsam/core/device.h"
#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/core/log.h"
#include "medsam/dist/gradient_reducer.h"
#include "medsam/dist/process_group.h"
#include "medsam/model/build_sam.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"
#include "tools/bench.h"
#include "tools/bench_profile.h"
#include "tools/bench_attention.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace {

// The reference bench's way (scripts/gpu/reference_bench.py): batches built once and kept on the
// training device, so a step times the model, the loss and the optimizer, not the host making random
// images (torch::rand is serial on the CPU: ~150 ms for 8 images of 1024² on this machine, time the
// GPU would sit idle). A training run gets its batches from loader workers that run ahead of the step.
class ResidentSource final : public train::BatchSource {
 public:
  ResidentSource(train::BatchSource& source, int count, const c10::Device& device) {
    source.begin_epoch(0);
    for (int i = 0; i < count; ++i) {
      std::optional<data::Batch> b = source.next();
      if (!b) break;
      b->images = b->images.to(device);
      b->image_index = b->image_index.to(device);
      b->boxes = b->boxes.to(device);
      b->masks = b->masks.to(device);
      batches_.push_back(std::move(*b));
    }
    if (batches_.empty()) throw Error("bench train-step: the synthetic source gave no batch");
  }
  void begin_epoch(int64_t) override {}
  std::optional<data::Batch> next() override { return batches_[next_++ % batches_.size()]; }
  std::string state() const override { return std::to_string(next_); }
  void restore(const std::string&) override {}

 private:
  std::vector<data::Batch> batches_;
  size_t next_ = 0;
};

struct TrainBenchOptions {
  ConfigOptions config;
  int threads = 0;
  int iters = 2;
  int warmup = 1;
  int batch = 1;
  bool activation_checkpointing = false;
  std::string loss_resolution = "full";
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string dist_backend = "none";
  std::string batches = "resident";
  std::string profile;
  std::string attention = "fast";
  std::string sdpa = "auto";
  double bucket_mb = 25;
};

int run_train_step(const TrainBenchOptions& o) {
  Config config = o.config.resolve();
  if (o.config.dump_if_asked(config)) return 0;
  if (o.threads > 0) torch::set_num_threads(o.threads);
  TrainConfig t = config.train;
  const c10::Device device = parse_device(o.device);
  bench::apply_sdpa_option(o.sdpa);
  t.device = device.is_cuda() ? "cuda" : "cpu";
  t.precision = o.precision;
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
  so.batches_per_epoch = o.warmup + o.iters + 2;  // + the --profile step and the SDPA-recording step
  so.seed = 0;
  train::TrainerOptions options;
  std::shared_ptr<dist::ProcessGroup> group;
  if (o.dist_backend != "none") {
    group = bench::join_group(o.dist_backend, std::chrono::minutes(5));
    options.rank = group->rank();
    options.world_size = group->size();
    options.group = group;
    options.make_reducer = dist::gradient_reducer_factory(group, o.bucket_mb);
  }
  train::SyntheticSource synthetic(so);
  std::unique_ptr<ResidentSource> resident;
  if (o.batches == "resident")  // on this rank's GPU (NCCL binds one per rank), as the trainer will be
    resident = std::make_unique<ResidentSource>(synthetic, 2, group && group->device().is_cuda() ? group->device() : device);
  train::BatchSource& source = resident ? static_cast<train::BatchSource&>(*resident) : synthetic;
  bench::reset_peak_rss();
  torch::manual_seed(0);
  Sam sam = build_sam(config.model);
  sam->image_encoder->set_attention_path(parse_attention_path(o.attention));
  train::Trainer trainer(t, sam, source, "", options);
  reset_cuda_peak(trainer.device());
  const double base = bench::peak_rss_mib();
  const auto step = [&] {
    trainer.train_step();
    synchronize(trainer.device());
  };
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, step);
  if (!o.profile.empty()) bench::profile_once(o.profile, trainer.device().is_cuda(), step);
  const std::string kernels = trainer.device().is_cuda() ? bench::sdpa_kernels_of(step) : std::string();
  const std::string memory = bench::memory_note(trainer.device().is_cuda(), cuda_peak_allocated_mib(trainer.device()),
                                                base, "model built", "training");
  const std::string dist_note =
      group ? fmt::format(" dist={}x{}", group->backend_name(), group->size()) : std::string();
  if (group) group->shutdown();
  std::error_code ec;
  remove_tree(t.output_dir, ec);
  if (options.rank != 0) return 0;
  fmt::print("train-step {} {}x{} device={} precision={}{} batch={} batches={} attention={} sdpa={} threads={} "
             "activation_checkpointing={} loss={} frozen=[{}]: mean {:.4f} s/step = {:.3f} samples/s{}, min {:.4f} s ({} iters, {} warmup); {}\n{}",
             config.model.arch, S, S, trainer.device().str(), o.precision, dist_note, o.batch, o.batches,
             o.attention, o.sdpa, torch::get_num_threads(),
             o.activation_checkpointing ? "on" : "off", o.loss_resolution, fmt::join(t.freeze, ","), mean,
             o.batch * options.world_size / mean, options.world_size > 1 ? " (all ranks)" : "", best, o.iters,
             o.warmup, memory, kernels);
  return 0;
}

RunFn add_train_step_bench(CLI::App& sub) {
  auto o = std::make_shared<TrainBenchOptions>();
  o->config.add_to(sub);
  sub.add_option("--batch", o->batch, "images (one box each) per step and rank")->capture_default_str()->check(at_least_one());
  sub.add_option("--threads", o->threads, "CPU threads (default: the global --threads)")->check(CLI::NonNegativeNumber);
  sub.add_option("--iters", o->iters, "timed steps")->capture_default_str()->check(at_least_one());
  sub.add_option("--warmup", o->warmup, "untimed steps first (AdamW allocates its moments in the first)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--activation-checkpointing", o->activation_checkpointing, "recompute ViT blocks in backward");
  sub.add_option("--loss-resolution", o->loss_resolution, "full (MedSAM: logits upsampled to the image) or low")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "low"}));
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub.add_option("--precision", o->precision, "fp32, or bf16 (autocast: the whole forward on CUDA, the image encoder on the CPU)")
      ->capture_default_str()
      ->check(CLI::IsMember(precision_names()));
  sub.add_option("--dist-backend", o->dist_backend,
                 "none, gloo or nccl: all-reduce gradients over a process group (the launcher's world, else one rank)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "gloo", "nccl"}));
  sub.add_option("--batches", o->batches,
                 "resident: two synthetic batches built once on the training device and reused (as the Python "
                 "reference bench does); host: a new batch built on the CPU and copied every step")
      ->capture_default_str()
      ->check(CLI::IsMember({"resident", "host"}));
  sub.add_option("--profile", o->profile,
                 "after the timed steps, profile one more step and write its Chrome trace here "
                 "(summary: scripts/gpu/trace_summary.py FILE)");
  sub.add_option("--bucket-mb", o->bucket_mb, "gradient bucket size with --dist-backend")->capture_default_str();
  bench::add_attention_options(sub, o->attention, o->sdpa);
  return [o] { return run_train_step(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("train-step", "full training step (forward, loss, backward, AdamW): samples/s and peak memory",
                  add_train_step_bench);

}  // namespace medsam::tools
