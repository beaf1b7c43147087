#include "medsam/train/train_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>

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
  if (!rendezvous.distributed()) return dist::ProcessGroup::single();
  set_log_rank(rendezvous.rank, rendezvous.world_size);
  dist::GroupOptions options;
  options.backend = t.dist.backend;
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

int run_training(Config& config) {
  validate_train_config(config.train);
  // Every process looks (the same folder on a shared file system), so all refuse alike before any joins.
  if (config.train.resume.empty()) check_no_earlier_run(config.train.output_dir);
  auto group = join_group(config.train);
  const int rank = group->rank(), world = group->size();
  auto source = make_source(config, rank, world);
  if (rank == 0) check_output_dir(config.train.output_dir);  // a bad output path fails now, before weights load
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
  // Same start on every rank, whatever each loaded (ref: torch DDP's _sync_module_states at construction).
  if (world > 1) dist::broadcast_module_state(*group, *trainer.model());
  log_info("training {} on {}{}: {} trainable parameters (frozen: {}), output {}", config.model.arch,
           trainer.device().str(), world > 1 ? fmt::format(" x {} processes", world) : "",
           trainer.optimizer().num_parameters(), fmt::join(config.train.freeze, ", "), config.train.output_dir);
  const TrainResult r = trainer.run();
  group->shutdown();
  if (rank != 0) return 0;
  if (r.stop_signal) {
    fmt::print("medsam train: stopped by signal after step {}; checkpoint {}\n", r.steps, r.last_checkpoint);
    return 0;
  }
  fmt::print("medsam train: done, {} steps ({:.3f} s/step this run); checkpoint {}\n", r.steps, r.seconds_per_step,
             r.last_checkpoint);
  return 0;
}

}  // namespace medsam::train
