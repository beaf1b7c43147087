// Range checks of the `train:` section (run by resolve_config, so `--dump-config` and every command see
// them, and again by the Trainer for configs built in code).
#include "medsam/core/config_train.h"

#include <algorithm>

#include <fmt/format.h>

#include "medsam/core/config_check.h"
#include "medsam/core/precision.h"

namespace medsam {

namespace {
bool one_of(const std::string& value, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return value == n; });
}
}  // namespace

void TrainConfig::validate() const {
  const auto& c = *this;
  require_config(one_of(c.loss.resolution, {"full", "low"}), {"train.loss.resolution"},
                 "train.loss.resolution must be full or low, got '" + c.loss.resolution + "'");
  require_config(c.loss.dice_weight >= 0 && c.loss.bce_weight >= 0, {"train.loss.dice_weight", "train.loss.bce_weight"},
                 "train.loss weights must be >= 0");
  require_config(c.loss.smooth >= 0, {"train.loss.smooth"}, "train.loss.smooth must be >= 0");
  require_config(c.optimizer.lr > 0, {"train.optimizer.lr"}, fmt::format("train.optimizer.lr must be > 0, got {}", c.optimizer.lr));
  require_config(c.optimizer.weight_decay >= 0, {"train.optimizer.weight_decay"}, "train.optimizer.weight_decay must be >= 0");
  require_config(c.optimizer.beta1 >= 0 && c.optimizer.beta1 < 1 && c.optimizer.beta2 >= 0 && c.optimizer.beta2 < 1,
                 {"train.optimizer.beta1", "train.optimizer.beta2"}, "train.optimizer.beta1/beta2 must be in [0, 1)");
  require_config(c.optimizer.eps > 0, {"train.optimizer.eps"}, "train.optimizer.eps must be > 0");
  require_config(c.schedule.warmup_steps >= 0 && c.schedule.total_steps >= 0,
                 {"train.schedule.warmup_steps", "train.schedule.total_steps"},
                 "train.schedule.warmup_steps/total_steps must be >= 0");
  require_config(c.schedule.min_lr_ratio >= 0 && c.schedule.min_lr_ratio <= 1, {"train.schedule.min_lr_ratio"},
                 "train.schedule.min_lr_ratio must be in [0, 1] (a negative ratio trains with a negative learning rate)");
  require_config(c.max_steps >= 0 && c.epochs >= 0, {"train.max_steps", "train.epochs"},
                 "train.max_steps and epochs must be >= 0 (0 = not a limit)");
  require_config(c.max_steps > 0 || c.epochs > 0, {"train.max_steps", "train.epochs"},
                 "train.max_steps or epochs must be > 0 (else training never ends)");
  require_config(one_of(c.schedule.name, {"constant", "cosine"}), {"train.schedule.name"},
                 "train.schedule.name must be constant or cosine, got '" + c.schedule.name + "'");
  require_config(c.schedule.name != "cosine" || c.schedule.total_steps > 0 || c.max_steps > 0,
                 {"train.schedule.name", "train.schedule.total_steps", "train.max_steps"},
                 "train.schedule: cosine needs schedule.total_steps or max_steps > 0");
  require_config(c.threads >= 0, {"train.threads"}, "train.threads must be >= 0 (0 = all cores)");
  require_config(c.grad_accum_steps >= 1, {"train.grad_accum_steps"}, "train.grad_accum_steps must be >= 1");
  require_config(c.clip_grad_norm >= 0, {"train.clip_grad_norm"}, "train.clip_grad_norm must be >= 0 (0 = off)");
  for (const auto& part : c.freeze)
    require_config(one_of(part, {"prompt_encoder", "image_encoder", "mask_decoder"}), {"train.freeze"},
                   fmt::format("train.freeze: unknown part '{}' (known: prompt_encoder, image_encoder, mask_decoder)", part));
  require_config(c.max_nonfinite_steps >= 1, {"train.max_nonfinite_steps"}, "train.max_nonfinite_steps must be >= 1");
  require_config(c.log_every_steps >= 1, {"train.log_every_steps"}, "train.log_every_steps must be >= 1");
  require_config(c.synthetic_batch_size >= 1 && c.synthetic_epoch_steps >= 1,
                 {"train.synthetic_batch_size", "train.synthetic_epoch_steps"},
                 "train.synthetic_batch_size/synthetic_epoch_steps must be >= 1");
  require_config(c.checkpoint.every_steps >= 0 && c.checkpoint.keep_last >= 0,
                 {"train.checkpoint.every_steps", "train.checkpoint.keep_last"},
                 "train.checkpoint.every_steps/keep_last must be >= 0");
  require_config(one_of(c.device, {"auto", "cpu", "cuda"}), {"train.device"},
                 "train.device must be auto, cpu or cuda, got '" + c.device + "'");
  const auto& precisions = precision_names();
  require_config(c.precision == "auto" || std::find(precisions.begin(), precisions.end(), c.precision) != precisions.end(),
                 {"train.precision"}, "train.precision must be auto, " + precision_names_text() + ", got '" + c.precision + "'");
  require_config(one_of(c.source, {"shards", "synthetic"}), {"train.source"},
                 "train.source must be shards or synthetic, got '" + c.source + "'");
  require_config(!c.output_dir.empty(), {"train.output_dir"}, "train.output_dir must not be empty");
  require_config(c.validation.every_steps >= 0, {"train.validation.every_steps"},
                 "train.validation.every_steps must be >= 0 (0 = off)");
  require_config(c.validation.max_samples >= 0, {"train.validation.max_samples"},
                 "train.validation.max_samples must be >= 0 (0 = all)");
  require_config(c.validation.min_object_pixels >= 0, {"train.validation.min_object_pixels"},
                 "train.validation.min_object_pixels must be >= 0");
  require_config(c.validation.jitter_px >= 0, {"train.validation.jitter_px"}, "train.validation.jitter_px must be >= 0");
  require_config(c.validation.tolerance_mm > 0, {"train.validation.tolerance_mm"}, "train.validation.tolerance_mm must be > 0");
  require_config(one_of(c.validation.split, {"train", "val", "test"}), {"train.validation.split"},
                 "train.validation.split must be train, val or test, got '" + c.validation.split + "'");
  require_config(one_of(c.logs.progress, {"auto", "bar", "lines"}), {"train.logs.progress"},
                 "train.logs.progress must be auto, bar or lines, got '" + c.logs.progress + "'");
  require_config(one_of(c.dist.backend, {"auto", "gloo", "nccl"}), {"train.dist.backend"},
                 "train.dist.backend must be auto, gloo or nccl, got '" + c.dist.backend + "'");
  // At most a week: beyond that a hang is not waited out, and 1e300 s would overflow the cast to milliseconds.
  require_config(c.dist.timeout_s > 0 && c.dist.timeout_s <= 7 * 86400, {"train.dist.timeout_s"},
                 "train.dist.timeout_s must be > 0 and at most 604800 (a week)");
  require_config(c.dist.bucket_mb > 0, {"train.dist.bucket_mb"}, "train.dist.bucket_mb must be > 0");
}

}  // namespace medsam
