#include "medsam/train/train_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>
#include <vector>

#include "medsam/core/config_unused.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/pipeline.h"
#include "medsam/dist/gradient_reducer.h"
#include "medsam/dist/module_sync.h"
#include "medsam/dist/process_group.h"
#include "medsam/dist/rendezvous.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/loader_source.h"
#include "medsam/train/output_folder.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"
#include "medsam/train/validation.h"

namespace medsam::train {

namespace {

// The shard pipeline (dataset + distributed sampler + loader, config.data) as a BatchSource that owns it.
class ShardSource final : public BatchSource {
 public:
  ShardSource(const data::DataConfig& config, int rank, int world_size)
      : pipeline_(config, rank, world_size), source_(pipeline_.loader(), pipeline_.sampler()) {}
  void begin_epoch(int64_t epoch) override { source_.begin_epoch(epoch); }
  std::optional<data::Batch> next() override { return source_.next(); }
  std::string state() const override { return source_.state(); }
  void restore(const std::string& state) override { source_.restore(state); }

 private:
  data::DataPipeline pipeline_;  // declared first: source_ refers into it
  LoaderSource source_;
};

// This rank's share of the data: the sampler (shards) or the synthetic batches are split by rank.
std::unique_ptr<BatchSource> make_source(const Config& config, int rank, int world_size) {
  const TrainConfig& t = config.train;
  if (t.source == "synthetic") {
    SyntheticSourceOptions o;
    o.image_size = config.model.image_encoder.img_size;
    o.batch_size = t.synthetic_batch_size;
    o.batches_per_epoch = t.synthetic_epoch_steps;
    o.seed = t.seed;
    o.rank = rank;
    o.world_size = world_size;
    return std::make_unique<SyntheticSource>(o);
  }
  if (config.data.shards.empty())
    throw ConfigError("train.source is 'shards' but data.shards is empty: point it at a folder made by "
                      "'medsam prep' (--set data.shards=DIR), or use --set train.source=synthetic");
  if (config.data.image_size != config.model.image_encoder.img_size)
    throw ConfigError(fmt::format("data.image_size {} differs from model.image_encoder.img_size {}",
                                  config.data.image_size, config.model.image_encoder.img_size));
  data::DataConfig data = config.data;
  // Batches for a GPU go into pinned host memory, so the trainer's copies to the device are asynchronous.
  data.pin_memory = trains_on_cuda(config.train);
  return std::make_unique<ShardSource>(data, rank, world_size);
}

// WORLD_SIZE > 1 (torchrun, `medsam launch`, Slurm, OpenMPI): join the group; else a world of one.
std::shared_ptr<dist::ProcessGroup> join_group(const TrainConfig& t) {
  const dist::Rendezvous rendezvous = dist::resolve_rendezvous(dist::process_env());
  for (const auto& w : rendezvous.warnings) log_warn("{}", w);
  if (!rendezvous.distributed()) return dist::ProcessGroup::single();
  set_log_rank(rendezvous.rank, rendezvous.world_size);
  dist::GroupOptions options;
  // auto: NCCL only for training on GPUs (a CPU run on a GPU host would hand NCCL CPU tensors).
  options.backend = t.dist.backend == "auto" && !trains_on_cuda(t) ? "gloo" : t.dist.backend;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(t.dist.timeout_s * 1000));
  auto group = dist::ProcessGroup::create(rendezvous, options);
  log_info("joined {} ({} backend, timeout {:g} s)", rendezvous.describe(), group->backend_name(), t.dist.timeout_s);
  return group;
}

// A resumed run's weights come from its checkpoint: reading train.init_checkpoint as well would cost a
// full read of it (and fail where it has since moved). The config saved with checkpoints keeps the key.
Config without_initial_weights_when_resuming(const Config& config) {
  Config copy = config;
  if (!config.train.resume.empty() && !config.train.init_checkpoint.empty()) {
    log_info("train.init_checkpoint {} not read: resuming, the weights come from {}", config.train.init_checkpoint,
             config.train.resume);
    copy.train.init_checkpoint.clear();
  }
  return copy;
}

}  // namespace

// Ranks that resumed at different steps would get the same weights from the broadcast below but keep
// their own optimizer moments and step counts: their updates drift apart, and they reach the end at
// different steps and hang there.
void check_ranks_start_together(dist::ProcessGroup& group, int64_t step) {
  // One collective: the maximum of -step is minus the minimum step.
  const auto s = static_cast<double>(step);
  const std::vector<double> v = group.all_reduce_scalars({s, -s}, dist::ReduceOp::kMax);
  const double highest = v[0], lowest = -v[1];
  if (highest != lowest)
    throw Error(fmt::format("the ranks start at different steps (from {} to {}; this rank {}): each reads the "
                            "resume checkpoint from train.output_dir, which must be one folder on a file system all "
                            "nodes share", lowest, highest, step));
}

int run_training(Config& config) {
  config.validate();  // again: configs built in code skip resolve_config
  // Every process looks (the same folder on a shared file system), so all refuse alike before any joins.
  const TrainConfig& t = config.train;
  if (t.resume.empty()) check_no_earlier_run(t.output_dir);
  else if (!same_folder(run_folder_of(t.resume), t.output_dir)) check_no_earlier_run(t.output_dir, t.resume);
  auto group = join_group(config.train);
  const int rank = group->rank(), world = group->size();
  auto source = make_source(config, rank, world);
  if (rank == 0) check_output_dir(config.train.output_dir);  // a bad output path fails now, before weights load
  if (rank == 0)
    for (const auto& line : unused_settings(config)) log_warn("config: {}", line);
  // The run's config.yaml says how to train, not how this process was started: without train.resume, so
  // the file used as a template (--config run/config.yaml) starts a new run instead of continuing this one.
  Config saved = config;
  saved.train.resume.clear();
  const std::string yaml = config_to_yaml(saved);
  Sam model = build_training_model(without_initial_weights_when_resuming(config));

  TrainerOptions options;
  options.rank = rank;
  options.world_size = world;
  if (world > 1) {
    options.group = group;
    options.make_reducer = dist::gradient_reducer_factory(group, config.train.dist.bucket_mb);
  }
  if (config.train.validation.every_steps > 0) {
    // The encoder at the precision training runs it at: `auto` is bf16 on CUDA, fp32 on the CPU.
    const std::string& p = config.train.precision;
    const std::string validation_precision = p == "auto" ? (trains_on_cuda(config.train) ? "bf16" : "fp32") : p;
    options.validate = make_shard_validator(config.train.validation, config.data.shards, validation_precision);
  }
  Trainer trainer(config.train, model, *source, yaml, options);
  if (!config.train.resume.empty()) trainer.resume(config.train.resume);
  if (world > 1) check_ranks_start_together(*group, trainer.state().step);
  // Same start on every rank, whatever each loaded (ref: torch DDP's _sync_module_states at construction).
  if (world > 1) dist::broadcast_module_state(*group, *trainer.model());
  log_info("training {} on {}{}: {} trainable parameters (frozen: {}), output {}", config.model.arch,
           trainer.device().str(), world > 1 ? fmt::format(" x {} processes", world) : "",
           trainer.optimizer().num_parameters(), fmt::join(config.train.freeze, ", "), config.train.output_dir);
  const TrainResult r = trainer.run();
  group->shutdown();
  // Every rank stopped at the same step (the stop flag is all-reduced), so every rank says so.
  if (r.stop_signal) {
    if (rank == 0)
      fmt::print("medsam train: stopped by signal after step {}; checkpoint {} (exit code {}: resume to continue)\n",
                 r.steps, r.last_checkpoint, kExitStopped);
    return kExitStopped;
  }
  if (rank != 0) return 0;
  fmt::print("medsam train: done, {} steps ({:.3f} s/step this run); checkpoint {}\n", r.steps, r.seconds_per_step,
             r.last_checkpoint);
  return 0;
}

}  // namespace medsam::train
