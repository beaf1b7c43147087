#include "medsam/train/train_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/pipeline.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/loader_source.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/trainer.h"

namespace medsam::train {

namespace {

// The shard pipeline (dataset + distributed sampler + loader, config.data) as a BatchSource that owns it.
class ShardSource final : public BatchSource {
 public:
  explicit ShardSource(const data::DataConfig& config)
      : pipeline_(config), source_(pipeline_.loader(), pipeline_.sampler()) {}
  void begin_epoch(int64_t epoch) override { source_.begin_epoch(epoch); }
  std::optional<data::Batch> next() override { return source_.next(); }
  std::string state() const override { return source_.state(); }
  void restore(const std::string& state) override { source_.restore(state); }

 private:
  data::DataPipeline pipeline_;  // declared first: source_ refers into it
  LoaderSource source_;
};

std::unique_ptr<BatchSource> make_source(const Config& config) {
  const TrainConfig& t = config.train;
  if (t.source == "synthetic") {
    SyntheticSourceOptions o;
    o.image_size = config.model.image_encoder.img_size;
    o.batch_size = t.synthetic_batch_size;
    o.batches_per_epoch = t.synthetic_epoch_steps;
    o.seed = t.seed;
    return std::make_unique<SyntheticSource>(o);
  }
  if (config.data.shards.empty())
    throw ConfigError("train.source is 'shards' but data.shards is empty: point it at a folder made by "
                      "'medsam prep' (--set data.shards=DIR), or use --set train.source=synthetic");
  if (config.data.image_size != config.model.image_encoder.img_size)
    throw ConfigError(fmt::format("data.image_size {} differs from model.image_encoder.img_size {}",
                                  config.data.image_size, config.model.image_encoder.img_size));
  // Single process for now; rank/world come from medsam/dist once the trainer creates a process group.
  return std::make_unique<ShardSource>(config.data);
}

}  // namespace

int run_training(Config& config) {
  validate_train_config(config.train);
  auto source = make_source(config);
  check_output_dir(config.train.output_dir);  // a bad output path fails now, before weights load
  const std::string yaml = config_to_yaml(config);
  Sam model = build_training_model(config);
  Trainer trainer(config.train, model, *source, yaml);
  if (!config.train.resume.empty()) trainer.resume(config.train.resume);
  log_info("training {} on {}: {} trainable parameters (frozen: {}), output {}", config.model.arch,
           trainer.device().str(), trainer.optimizer().num_parameters(), fmt::join(config.train.freeze, ", "),
           config.train.output_dir);
  const TrainResult r = trainer.run();
  if (r.stop_signal) {
    fmt::print("medsam train: stopped by signal after step {}; checkpoint {}\n", r.steps, r.last_checkpoint);
    return 0;
  }
  fmt::print("medsam train: done, {} steps ({:.3f} s/step this run); checkpoint {}\n", r.steps, r.seconds_per_step,
             r.last_checkpoint);
  return 0;
}

}  // namespace medsam::train
