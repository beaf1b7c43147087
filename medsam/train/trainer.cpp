#include "medsam/train/trainer.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/core/precision.h"
#include "medsam/core/log.h"
#include "medsam/core/torch_compat.h"
#include "medsam/dist/gradient_reducer.h"
#include "medsam/dist/process_group.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/weights.h"
#include "medsam/train/activation_checkpoint.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/output_folder.h"
#include "medsam/train/schedule.h"
#include "medsam/train/stop_signal.h"

namespace medsam::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

Sam build_training_model(const Config& config) {
  torch::manual_seed(static_cast<uint64_t>(config.train.seed));
  Sam model = build_sam(config.model);
  if (!config.train.init_checkpoint.empty()) {
    const WeightsReport r = load_weights(*model, config.train.init_checkpoint, /*strict=*/true);
    log_info("initial weights: {} ({} tensors{}{})", r.path, r.loaded, r.wrapper.empty() ? "" : ", from \"" + r.wrapper + "\"",
             r.stripped_prefix.empty() ? "" : ", prefix " + r.stripped_prefix + " stripped");
  }
  return model;
}

bool trains_on_cuda(const TrainConfig& config) {
  return config.device == "cuda" || (config.device == "auto" && torch::cuda::is_available());
}

Trainer::Trainer(const TrainConfig& config, Sam model, BatchSource& source, std::string config_yaml,
                 TrainerOptions options)
    : config_(config), model_(std::move(model)), source_(source), config_yaml_(std::move(config_yaml)),
      options_(std::move(options)) {
  config_.validate();
  const bool cuda = trains_on_cuda(config_);
  if (config_.device == "cuda" && !torch::cuda::is_available())
    throw Error("train.device is cuda, but this LibTorch has no usable CUDA device");
  // One GPU per process: NCCL's, bound to this rank's local rank; with Gloo the same rule (else every
  // rank of a node would train on cuda:0).
  int cuda_index = 0;
  if (options_.group && options_.group->device().is_cuda())
    cuda_index = options_.group->device().index();
  else if (cuda && options_.group)
    cuda_index = options_.group->local_rank() % std::max<int>(1, static_cast<int>(torch::cuda::device_count()));
  device_ = cuda ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(cuda_index)) : at::Device(at::kCPU);
  // The same rule as `medsam infer --precision` (medsam/core/precision.h): bf16 autocasts the whole forward on
  // CUDA, the image encoder only on the CPU. "auto" is bf16 on CUDA and stays fp32 on CPUs.
  precision_ = parse_precision(config_.precision == "auto" ? (cuda ? "bf16" : "fp32") : config_.precision, device_,
                               "train.precision");
  if (!cuda && config_.threads > 0) torch::set_num_threads(config_.threads);
  model_->to(device_);
  model_->train();
  // Validation (autograd off) runs the encoder's residual stream as `medsam infer --precision` of the same name.
  model_->image_encoder->inference_stream = residual_stream_for(precision_);
  apply_freeze(*model_, config_.freeze);
  optimizer_ = std::make_unique<AdamW>(*model_, config_.optimizer);
  reducer_ = options_.reducer;
  if (!reducer_ && options_.make_reducer) reducer_ = options_.make_reducer(optimizer_->parameters());
  if (!reducer_) reducer_ = std::shared_ptr<dist::GradientReducer>(dist::make_inline_reducer());
  if (options_.rank == 0) {
    check_output_dir(config_.output_dir);
    remove_stale_temporaries(config_.output_dir);
    std::error_code ec;
    const auto space = fs::space(config_.output_dir, ec);
    if (!ec) {
      const std::string warning = check_checkpoint_space(config_.output_dir, estimated_checkpoint_bytes(*model_),
                                                         static_cast<uint64_t>(space.available));
      if (!warning.empty()) log_warn("{}", warning);
    }
  }
  metrics_ = std::make_unique<MetricsLog>(config_.output_dir, config_.logs, options_.rank == 0);
  const bool bar = config_.logs.progress == "bar" || (config_.logs.progress == "auto" && stderr_is_terminal());
  bar_ = std::make_unique<ProgressBar>(options_.rank == 0 && bar);
}

Trainer::~Trainer() = default;

void Trainer::resume(const std::string& path) {
  const std::string file = resolve_resume_path(path);
  load_checkpoint(file, *model_, *optimizer_, state_);
  if (state_.rng_state.defined()) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle on the global generator
    generator.set_state(state_.rng_state);
  }
  source_.begin_epoch(state_.epoch);
  if (!state_.source_state.empty()) source_.restore(state_.source_state);
  epoch_started_ = true;
  log_info("resumed from {} at step {} (epoch {})", file, state_.step, state_.epoch);
  if (options_.rank == 0) {
    set_aside_later_checkpoints(config_.output_dir, state_.step);
    // A best.pth written after this checkpoint (a crash between a validation and the next checkpoint, or
    // a rollback) stays the bar: a replayed step that scores a little lower must not replace it.
    if (const auto best = read_best_record(config_.output_dir); best && best->mean_dsc > state_.best_val_dice) {
      log_info("best.pth in {} (DSC {:.4f}, step {}) is the score to beat, not this checkpoint's record",
               config_.output_dir, best->mean_dsc, best->step);
      state_.best_val_dice = best->mean_dsc;
      state_.best_step = best->step;
    }
  }
}

std::optional<data::Batch> Trainer::next_batch() {
  if (!epoch_started_) {
    source_.begin_epoch(state_.epoch);
    epoch_started_ = true;
  }
  auto batch = source_.next();
  if (batch) return batch;
  state_.epoch += 1;  // ref: MedSAM train_one_gpu.py main (for epoch in range(start_epoch, num_epochs))
  if (config_.epochs > 0 && state_.epoch >= config_.epochs) return std::nullopt;
  source_.begin_epoch(state_.epoch);
  batch = source_.next();
  if (!batch) throw Error(fmt::format("the batch source returned no batch in epoch {}", state_.epoch));
  return batch;
}

// ref: MedSAM train_one_gpu.py MedSAM.forward + main (loss = seg_loss + ce_loss)
LossValues Trainer::forward_loss(const data::Batch& batch) {
  // Pinned batches (the shard loader's on CUDA) copy asynchronously; the caching host allocator keeps
  // their memory until the copy has run.
  const bool async = batch.images.is_pinned();
  const at::Tensor images = batch.images.to(device_, torch::kFloat32, async);
  Prompts prompts;
  prompts.boxes = batch.boxes.to(device_, torch::kFloat32);
  if (batch.points.defined()) {
    prompts.point_coords = batch.points.to(device_, torch::kFloat32);
    prompts.point_labels = batch.point_labels.to(device_);
  }
  const at::Tensor masks = batch.masks.to(device_, torch::kFloat32, async);
  const PrecisionScope decoder_precision(precision_, device_, ModelPart::kPromptAndMaskDecoder);  // and the loss
  at::Tensor embeddings;  // (Bi, C, h, w)
  {
    const PrecisionScope encoder_precision(precision_, device_, ModelPart::kImageEncoder);
    embeddings = config_.activation_checkpointing ? encode_with_checkpointing(*model_->image_encoder, images)
                                                  : model_->encode(images);
  }
  if (is_bf16(precision_) && !device_.is_cuda()) embeddings = embeddings.to(at::kFloat);  // fp32 decoder
  // Several prompts per image: each prompt gets its image's embedding (Bi, ...) -> (Bp, ...).
  if (batch.image_index.defined() && !(batch.num_images() == 1 && batch.num_prompts() > 1))
    embeddings = embeddings.index_select(0, batch.image_index.to(device_));
  const MaskPrediction pred = model_->decode(embeddings, prompts, /*multimask_output=*/false);
  return segmentation_loss(pred.low_res_logits, masks, config_.loss);
}

StepResult Trainer::train_step() {
  StepResult r;
  optimizer_->zero_grad();
  reducer_->prepare_gradients();  // distributed: backward adds straight into the all-reduced buckets
  int micro = 0;
  at::Tensor loss_sums;  // (3) float64 on the device: total, dice, bce summed over the micro-steps
  // The medsam::... scopes name the phases in a profiler trace (`medsam bench train-step --profile`);
  // without a profiler they cost a flag test.
  for (; micro < config_.grad_accum_steps; ++micro) {
    std::optional<data::Batch> batch;
    {
      RECORD_USER_SCOPE("medsam::batch");
      batch = next_batch();
    }
    // A rank whose data ran out a batch early (a batch of corrupt samples skipped, data.skip_corrupt) must
    // not leave the others waiting in the gradient all-reduce until the timeout: every rank goes on only
    // if every rank has a batch. One scalar per micro-batch, before the forward.
    if (distributed() && options_.group->all_reduce_scalar(batch ? 1 : 0, dist::ReduceOp::kMin) < 1 && batch) {
      log_warn("step {}: another rank's data ran out: this rank's batch is left out and training ends with theirs",
               state_.step + 1);
      batch.reset();
    }
    if (!batch) break;
    const bool last = micro + 1 == config_.grad_accum_steps;
    std::unique_ptr<dist::NoSyncScope> no_sync;
    if (!last) no_sync = std::make_unique<dist::NoSyncScope>(*reducer_);
    LossValues loss;
    {
      RECORD_USER_SCOPE("medsam::forward");
      loss = forward_loss(*batch);
    }
    {
      RECORD_USER_SCOPE("medsam::backward");
      (loss.total / static_cast<double>(config_.grad_accum_steps)).backward();
    }
    const at::Tensor parts =
        torch::stack({loss.total.detach(), loss.dice.detach(), loss.bce.detach()}).to(torch::kFloat64);
    loss_sums = loss_sums.defined() ? loss_sums + parts : parts;
    r.prompts += batch->num_prompts();
  }
  if (micro == 0) {
    r.end_of_data = true;
    return r;
  }
  if (micro < config_.grad_accum_steps) reducer_->set_sync(true);  // data ran out mid-step: still sync
  {
    RECORD_USER_SCOPE("medsam::reduce_gradients");
    reducer_->finalize();
  }

  // Global gradient norm (ref: torch/nn/utils/clip_grad.py clip_grad_norm_, foreach form), also the
  // non-finite check. The losses and the norm reach the host in one copy: the step's only wait for the
  // device (a GPU otherwise runs ahead of the host).
  std::vector<at::Tensor> grads;
  for (const auto& p : optimizer_->parameters())
    if (p.grad().defined()) grads.push_back(p.grad());
  at::Tensor host;
  {
    RECORD_USER_SCOPE("medsam::grad_norm");
    at::Tensor norm_t = torch::zeros({1}, loss_sums.options());
    if (!grads.empty()) {
      torch::NoGradGuard no_grad;
      norm_t = torch::stack(at::_foreach_norm(grads, 2)).norm(2).to(torch::kFloat64).reshape({1});
    }
    host = torch::cat({loss_sums, norm_t}).cpu();
  }
  const double* v = host.data_ptr<double>();
  r.loss = v[0] / micro;
  r.dice = v[1] / micro;
  r.bce = v[2] / micro;
  const double norm = v[3];
  reduce_over_ranks(r);
  r.grad_norm = norm;
  r.lr = learning_rate(config_.schedule, config_.optimizer.lr, state_.step, config_.max_steps);

  if (!std::isfinite(r.loss) || !std::isfinite(norm)) {
    r.skipped = true;
    state_.skipped_steps += 1;
    state_.consecutive_nonfinite += 1;
    optimizer_->zero_grad();
    log_warn("step {}: non-finite {} (loss {}, grad norm {}): step skipped, weights unchanged ({} in a row, limit {})",
             state_.step + 1, std::isfinite(r.loss) ? "gradient" : "loss", r.loss, norm, state_.consecutive_nonfinite,
             config_.max_nonfinite_steps);
    if (state_.consecutive_nonfinite >= config_.max_nonfinite_steps)
      throw Error(fmt::format("training stopped at step {}: {} non-finite steps in a row (train.max_nonfinite_steps); "
                              "lower train.optimizer.lr, set train.clip_grad_norm, or check the data",
                              state_.step + 1, state_.consecutive_nonfinite));
  } else {
    RECORD_USER_SCOPE("medsam::optimizer");
    state_.consecutive_nonfinite = 0;
    if (config_.clip_grad_norm > 0 && norm > config_.clip_grad_norm) {
      torch::NoGradGuard no_grad;
      at::_foreach_mul_(grads, config_.clip_grad_norm / (norm + 1e-6));
    }
    optimizer_->set_lr(r.lr);
    optimizer_->step();
  }
  state_.step += 1;
  state_.samples += r.prompts;
  state_.source_state = source_.state();
  return r;
}

bool Trainer::distributed() const { return options_.group && options_.group->size() > 1; }

void Trainer::barrier() {
  if (distributed()) options_.group->barrier();
}

// Every rank must take the same decisions (skip a non-finite step, log the same loss): the step's
// means are averaged over ranks, its prompts summed. One small collective per step.
void Trainer::reduce_over_ranks(StepResult& r) {
  if (!distributed()) return;
  const double n = options_.group->size();
  const auto v = options_.group->all_reduce_scalars({r.loss, r.dice, r.bce, static_cast<double>(r.prompts)});
  r.loss = v[0] / n;
  r.dice = v[1] / n;
  r.bce = v[2] / n;
  r.prompts = static_cast<int64_t>(v[3] + 0.5);
}

// A signal reaches the ranks at slightly different times (the launcher forwards it one by one): the
// ranks stop together after the step in which any of them saw it.
int Trainer::agreed_stop_signal() {
  const int local = stop_requested();
  if (!distributed()) return local;
  return static_cast<int>(options_.group->all_reduce_scalar(local, dist::ReduceOp::kMax));
}

std::string Trainer::save_checkpoint_now() {
  std::string path;
  if (options_.rank == 0) {
    bar_->clear();
    state_.rng_state = at::detail::getDefaultCPUGenerator().get_state();
    path = save_checkpoint(config_.output_dir, *model_, *optimizer_, state_, config_yaml_, config_.checkpoint.keep_last);
    log_info("checkpoint {} (step {})", path, state_.step);
  }
  barrier();  // the other ranks wait for the file (a restart must find it)
  return path;
}

std::optional<ValidationSummary> Trainer::validate_now() {
  std::optional<ValidationSummary> out;
  std::string failure;
  if (options_.rank == 0 && options_.validate) {
    bar_->clear();
    // Validation must not change training: keep the RNG (exact resume) and the train mode.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    const at::Tensor rng = generator.get_state();
    ValidationSummary v;
    try {
      torch::NoGradGuard no_grad;
      v = options_.validate(model_);
    } catch (const std::exception& e) {
      failure = e.what();  // out of memory, a corrupt validation shard, ...: said below, after the ranks agree
    }
    generator.set_state(rng);
    model_->train();
    if (failure.empty()) {
      const bool best = config_.validation.keep_best && v.objects > 0 && std::isfinite(v.mean_dsc) &&
                        v.mean_dsc > state_.best_val_dice;
      if (best) {
        state_.best_val_dice = v.mean_dsc;
        state_.best_step = state_.step;
        save_best_model(config_.output_dir, *model_, state_.step, v.mean_dsc, v.mean_nsd, v.objects);
      }
      log_info("validation at step {}: DSC mean {:.4f} median {:.4f}, NSD mean {:.4f} median {:.4f} ({} objects, "
               "{:.1f} s){}",
               state_.step, v.mean_dsc, v.median_dsc, v.mean_nsd, v.median_nsd, v.objects, v.seconds,
               best ? " -> best.pth" : fmt::format(" (best {:.4f} at step {})", state_.best_val_dice, state_.best_step));
      for (const GroupScore& g : v.groups)
        log_info("  {} {}: DSC {:.4f} NSD {:.4f} ({} objects)", g.by, g.name, g.mean_dsc, g.mean_nsd, g.objects);
      metrics_->add_validation(state_.step, v, best);
      out = v;
    }
  }
  // The other ranks wait here for rank 0, and learn whether its validation failed (they stop with it).
  const bool failed = distributed()
                          ? options_.group->all_reduce_scalar(failure.empty() ? 0 : 1, dist::ReduceOp::kMax) > 0
                          : !failure.empty();
  if (failed) throw ValidationFailure(failure.empty() ? "validation on rank 0 failed" : failure);
  return out;
}

std::optional<ValidationSummary> Trainer::validate_or_save_and_stop(int64_t& saved_step) {
  try {
    return validate_now();
  } catch (const ValidationFailure& e) {
    // The step is trained: keep it before stopping, so fixing the validation data costs no training.
    std::string path = "(already written)";
    if (saved_step != state_.step) {
      path = save_checkpoint_now();
      saved_step = state_.step;
    }
    throw Error(fmt::format("validation at step {} failed: {}. This step's checkpoint is written {}; resume with "
                            "--resume {} once validation works (or without it: --set train.validation.every_steps=0)",
                            state_.step, e.what(), path, config_.output_dir));
  }
}

void Trainer::log_progress(const StepResult& r, double interval_seconds, int64_t interval_prompts,
                           int64_t interval_steps) {
  if (options_.rank != 0) return;
  bar_->clear();
  const double samples_per_s = interval_seconds > 0 ? static_cast<double>(interval_prompts) / interval_seconds : 0;
  const double per_step = interval_steps > 0 ? interval_seconds / static_cast<double>(interval_steps) : 0;
  const std::string total = config_.max_steps > 0 ? fmt::format("/{}", config_.max_steps) : "";
  const double eta = config_.max_steps > 0 ? per_step * static_cast<double>(config_.max_steps - state_.step) : NAN;
  log_info("step {}{} epoch {} loss {:.4f} (dice {:.4f} bce {:.4f}) lr {:.2e} grad {:.3g} | {:.2f} samples/s | ETA {}",
           state_.step, total, state_.epoch, r.loss, r.dice, r.bce, r.lr, r.grad_norm, samples_per_s, duration_text(eta));
}

void Trainer::draw_progress(const StepResult& r, double samples_per_s, double seconds_per_step) {
  if (!bar_->enabled()) return;
  const double eta =
      config_.max_steps > 0 ? seconds_per_step * static_cast<double>(config_.max_steps - state_.step) : NAN;
  bar_->draw(state_.step, config_.max_steps,
             fmt::format("loss {:.4f}  lr {:.1e}  {:.2f} samples/s  ETA {}", r.loss, r.lr, samples_per_s,
                         duration_text(eta)));
}

TrainResult Trainer::run() {
  install_stop_handlers();
  TrainResult result;
  const auto run_start = Clock::now();
  auto interval_start = run_start;
  int64_t interval_prompts = 0, interval_steps = 0, steps_this_run = 0;
  const int64_t every = config_.checkpoint.every_steps;
  const int64_t validate_every = config_.validation.every_steps;
  int64_t run_prompts = 0, validated_step = -1, saved_step = -1;
  int agreed_stop = 0;  // distributed: the signal all ranks agreed on after the last step
  bool completed = false;
  metrics_->set_start_step(state_.step);
  if (validate_every > 0 && config_.validation.at_start && state_.step == 0)
    if (auto v = validate_now()) result.validations.emplace_back(0, *v);
  while (true) {
    if (const int sig = distributed() ? agreed_stop : stop_requested()) {
      result.stop_signal = sig;
      break;
    }
    if (config_.max_steps > 0 && state_.step >= config_.max_steps) {
      completed = true;
      break;
    }
    const auto t0 = Clock::now();
    const StepResult r = train_step();
    if (r.end_of_data) {
      completed = true;
      break;
    }
    const double step_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (distributed()) agreed_stop = agreed_stop_signal();
    result.losses.push_back(r.loss);
    ++steps_this_run;
    interval_prompts += r.prompts;
    run_prompts += r.prompts;
    ++interval_steps;
    metrics_->add_step({state_.step, state_.epoch, r.prompts, r.loss, r.dice, r.bce, r.lr, r.grad_norm, step_seconds,
                        r.skipped});
    const double run_seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
    draw_progress(r, run_seconds > 0 ? static_cast<double>(run_prompts) / run_seconds : 0,
                  run_seconds / static_cast<double>(steps_this_run));
    const bool last = config_.max_steps > 0 && state_.step >= config_.max_steps;
    if (state_.step % config_.log_every_steps == 0 || last || state_.step == 1) {
      const auto now = Clock::now();
      log_progress(r, std::chrono::duration<double>(now - interval_start).count(), interval_prompts, interval_steps);
      interval_start = now;
      interval_prompts = interval_steps = 0;
    }
    // Stopping (a signal, maybe with little grace left, as Slurm's --signal gives): straight to the
    // checkpoint at the loop's top, no validation first.
    if (distributed() ? agreed_stop : stop_requested()) continue;
    // Validation first: the checkpoint then records the best score it produced.
    if (validate_every > 0 && (state_.step % validate_every == 0 || last)) {
      if (auto v = validate_or_save_and_stop(saved_step)) result.validations.emplace_back(state_.step, *v);
      validated_step = state_.step;
    }
    if (every > 0 && state_.step % every == 0 && !last) {
      result.last_checkpoint = save_checkpoint_now();
      saved_step = state_.step;
    }
  }
  // Training ended by its epochs (no max_steps): the last step is validated here.
  if (completed && validate_every > 0 && steps_this_run > 0 && validated_step != state_.step)
    if (auto v = validate_or_save_and_stop(saved_step)) result.validations.emplace_back(state_.step, *v);
  // The last step's checkpoint, unless the loop just wrote it (a stop right after a periodic checkpoint).
  if ((steps_this_run > 0 || result.stop_signal) && saved_step != state_.step)
    result.last_checkpoint = save_checkpoint_now();
  if (completed && options_.rank == 0) {
    bar_->clear();
    const std::string final_model = (fs::path(config_.output_dir) / "model_final.pth").string();
    export_model(final_model, *model_);
    log_info("training done at step {}: {} (SAM state dict)", state_.step, final_model);
  }
  barrier();
  if (result.stop_signal)
    log_info("{} received: stopped after step {}; resume with --resume {}", signal_name(result.stop_signal),
             state_.step, config_.output_dir);
  result.steps = state_.step;
  result.seconds_per_step =
      steps_this_run > 0 ? std::chrono::duration<double>(Clock::now() - run_start).count() / static_cast<double>(steps_this_run) : 0;
  return result;
}

}  // namespace medsam::train
