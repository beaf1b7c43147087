// The training loop: batches from a BatchSource -> MedSAM loss -> (accumulated, synchronised, clipped)
// gradients -> AdamW, with checkpoints, resume, graceful stop on signals, non-finite step skipping,
// validation with a best model, a progress bar or log lines, and metrics (JSONL, CSV, TensorBoard).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/model/sam.h"
#include "medsam/train/batch_source.h"
#include "medsam/train/loss.h"
#include "medsam/train/metrics_log.h"
#include "medsam/train/optimizer.h"
#include "medsam/train/progress_bar.h"
#include "medsam/train/train_state.h"
#include "medsam/train/validation.h"

namespace medsam::dist {
class GradientReducer;
class ProcessGroup;
}  // namespace medsam::dist

namespace medsam::train {

// A validation that threw (out of memory, a corrupt validation shard): the trainer saves the step and stops.
class ValidationFailure : public Error {
 public:
  using Error::Error;
};

// Whether training runs on CUDA: train.device "cuda", or "auto" with a CUDA device visible. The one rule
// for the trainer and for the data pipeline (which pins its batches then).
bool trains_on_cuda(const TrainConfig& config);

// Seeds the global RNG with train.seed, builds the model of config.model and loads
// train.init_checkpoint (strict; SAM/MedSAM .pth, {"model": ...} wrapper and "module." prefix accepted).
Sam build_training_model(const Config& config);

struct TrainerOptions {
  int rank = 0;  // only rank 0 logs, writes metrics and checkpoints
  int world_size = 1;
  // Gradient synchronisation (medsam/dist); null: a single process (the inline reducer).
  std::shared_ptr<dist::GradientReducer> reducer;
  // Built once the optimizer knows the trainable parameters (which the reducer must see); used when
  // `reducer` is null. Lets the caller build a bucketed reducer over exactly those parameters.
  std::function<std::shared_ptr<dist::GradientReducer>(const std::vector<at::Tensor>&)> make_reducer;
  // World size > 1: the group the reducer uses. The trainer reduces each step's loss over it (every rank
  // logs and skips the same steps), agrees on stop signals, and holds the other ranks at a barrier while
  // rank 0 validates and writes checkpoints. Null: a single process.
  std::shared_ptr<dist::ProcessGroup> group;
  // Called on rank 0 every train.validation.every_steps and after the last step; null: no validation.
  Validator validate;
};

struct StepResult {
  double loss = 0, dice = 0, bce = 0;  // means over the step's micro-batches
  double grad_norm = 0;                // global L2 norm before clipping
  double lr = 0;
  int64_t prompts = 0;
  bool skipped = false;                // non-finite loss or gradient: no update
  bool end_of_data = false;            // no batch left (epochs done): nothing was trained
};

struct TrainResult {
  int64_t steps = 0;             // state().step at the end
  std::vector<double> losses;    // loss of every step this run() took
  int stop_signal = 0;           // the signal that ended the run early, 0 when it ran to the end
  std::string last_checkpoint;   // "" when none was written (rank != 0)
  double seconds_per_step = 0;   // mean wall time of this run's steps
  std::vector<std::pair<int64_t, ValidationSummary>> validations;  // (step, summary) of this run, rank 0
};

class Trainer {
 public:
  // `model` is moved to train.device; frozen parts get requires_grad=false; the optimizer holds the rest.
  // config_yaml: the resolved config saved beside checkpoints (config_to_yaml of the root config).
  Trainer(const TrainConfig& config, Sam model, BatchSource& source, std::string config_yaml,
          TrainerOptions options = {});
  ~Trainer();

  // Loads model, optimizer, step, RNG and data position (file or directory: newest checkpoint).
  void resume(const std::string& path);
  // Steps until max_steps / epochs are reached or a stop signal arrives; writes checkpoints every
  // checkpoint.every_steps, at the end and on a signal; exports DIR/model_final.pth when it completes.
  // Throws Error after max_nonfinite_steps non-finite steps in a row (no checkpoint of them is written).
  TrainResult run();
  // One optimizer step (grad_accum_steps micro-batches).
  StepResult train_step();
  // Writes a checkpoint of the current state now (rank 0); returns its path.
  std::string save_checkpoint_now();
  // Runs the validator now (rank 0; the training RNG state is kept), logs and records the result, and
  // writes OUTPUT/best.pth when the mean DSC beats the best so far. Other ranks wait for it. A validator
  // that throws makes every rank throw ValidationFailure (with rank 0's message there).
  std::optional<ValidationSummary> validate_now();

  TrainState& state() { return state_; }
  AdamW& optimizer() { return *optimizer_; }
  Sam& model() { return model_; }
  const at::Device& device() const { return device_; }

 private:
  // validate_now(); on a ValidationFailure the step's checkpoint is written (unless `saved_step` is this
  // step) and Error is thrown saying so.
  std::optional<ValidationSummary> validate_or_save_and_stop(int64_t& saved_step);
  std::optional<data::Batch> next_batch();
  LossValues forward_loss(const data::Batch& batch);
  void log_progress(const StepResult& r, double interval_seconds, int64_t interval_prompts, int64_t interval_steps);
  void draw_progress(const StepResult& r, double samples_per_s, double seconds_per_step);
  void reduce_over_ranks(StepResult& r);
  int agreed_stop_signal();
  void barrier();
  bool distributed() const;

  TrainConfig config_;
  Sam model_;
  BatchSource& source_;
  std::string config_yaml_;
  TrainerOptions options_;
  at::Device device_{at::kCPU};
  Precision precision_ = Precision::kFp32;  // train.precision resolved for the device
  std::unique_ptr<AdamW> optimizer_;
  std::shared_ptr<dist::GradientReducer> reducer_;
  TrainState state_;
  bool epoch_started_ = false;
  double mean_step_seconds_ = 0;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace medsam::train
