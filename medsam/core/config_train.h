// Typed configuration of `medsam train` (the `train:` section). Defaults are MedSAM's recipe
// (ref: MedSAM train_one_gpu.py argparse defaults): AdamW lr 1e-4, wd 0.01, betas (0.9, 0.999),
// Dice + BCE unweighted on full-resolution logits, prompt encoder frozen, no LR schedule.
// The ranges are checked by TrainConfig::validate (config_train.cpp).
#pragma once

#include <string>
#include <vector>

#include "medsam/core/config_visit.h"

namespace medsam {

// ref: MedSAM train_one_gpu.py seg_loss (monai DiceLoss) + ce_loss (BCEWithLogitsLoss)
struct LossConfig {
  double dice_weight = 1.0;
  double bce_weight = 1.0;
  double smooth = 1e-5;            // monai smooth_nr = smooth_dr
  std::string resolution = "full"; // full: logits upsampled to the mask size (MedSAM); low: masks area-downsampled to the logits

  void visit(ConfigVisitor& v) {
    v.field("dice_weight", dice_weight);
    v.field("bce_weight", bce_weight);
    v.field("smooth", smooth);
    v.field("resolution", resolution);
  }
};

// ref: torch/optim/adamw.py AdamW
struct OptimizerConfig {
  double lr = 1e-4;
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Parameters that get no weight decay: "bias" (names ending in bias), "norm" (the 1-D weights of
  // LayerNorm/LayerNorm2d), "embedding" (pos_embed, rel_pos_*, point/mask/iou tokens), or any other
  // text matched as a substring of the parameter name. MedSAM decays everything: [].
  std::vector<std::string> no_weight_decay;

  void visit(ConfigVisitor& v) {
    v.field("lr", lr);
    v.field("weight_decay", weight_decay);
    v.field("beta1", beta1);
    v.field("beta2", beta2);
    v.field("eps", eps);
    v.field("no_weight_decay", no_weight_decay);
  }
};

struct ScheduleConfig {
  std::string name = "constant";  // constant | cosine
  long long warmup_steps = 0;     // linear ramp from 0 to lr over these steps (both schedules)
  double min_lr_ratio = 0.0;      // cosine ends at lr * min_lr_ratio
  long long total_steps = 0;      // cosine length; 0 = train.max_steps

  void visit(ConfigVisitor& v) {
    v.field("name", name);
    v.field("warmup_steps", warmup_steps);
    v.field("min_lr_ratio", min_lr_ratio);
    v.field("total_steps", total_steps);
  }
};

struct CheckpointConfig {
  long long every_steps = 1000;  // also written at the end and on SIGTERM/SIGINT/SIGUSR1; 0 = only then
  int keep_last = 3;             // older step checkpoints are deleted; 0 = keep all

  void visit(ConfigVisitor& v) {
    v.field("every_steps", every_steps);
    v.field("keep_last", keep_last);
  }
};

// Validation during training on a held-out split of the same shards (medsam/eval evaluate_model):
// DSC/NSD per object, logged overall and per modality/dataset; "best" is the highest mean DSC.
struct ValidationConfig {
  long long every_steps = 0;       // 0 = off; also run after the last step when > 0
  bool at_start = false;           // also score the starting weights (step 0) before training
  std::string split = "val";       // split of data.shards (or of `shards`) to score
  std::string shards;              // "" = data.shards
  long long max_samples = 0;       // objects scored per validation (0 = all); a fixed subset, same each time
  long long min_object_pixels = 1; // smaller objects are not prompted
  int jitter_px = 0;               // box jitter of the validation prompts (0: tight boxes)
  long long seed = 0;              // jitter/subset seed (validation never touches the training RNG)
  double tolerance_mm = 2.0;       // NSD tolerance
  bool keep_best = true;           // write OUTPUT/best.pth (+ best.json) when the mean DSC improves

  void visit(ConfigVisitor& v) {
    v.field("every_steps", every_steps);
    v.field("at_start", at_start);
    v.field("split", split);
    v.field("shards", shards);
    v.field("max_samples", max_samples);
    v.field("min_object_pixels", min_object_pixels);
    v.field("jitter_px", jitter_px);
    v.field("seed", seed);
    v.field("tolerance_mm", tolerance_mm);
    v.field("keep_best", keep_best);
  }
};

// Where training curves go besides the log lines (rank 0 only).
struct TrainLogConfig {
  std::string progress = "auto";  // auto (a progress bar when stderr is a terminal) | bar | lines
  bool csv = true;                // OUTPUT/metrics.csv (+ val_metrics.csv) beside metrics.jsonl
  bool tensorboard = true;        // OUTPUT/tensorboard/events.out.tfevents.* (scalars)

  void visit(ConfigVisitor& v) {
    v.field("progress", progress);
    v.field("csv", csv);
    v.field("tensorboard", tensorboard);
  }
};

// Several processes (WORLD_SIZE > 1 from torchrun, `medsam launch`, Slurm or OpenMPI; docs/distributed.md).
struct TrainDistConfig {
  std::string backend = "auto";  // auto (NCCL on CUDA, else Gloo) | gloo | nccl
  double timeout_s = 1800;       // rendezvous and every collective; a dead or hung rank fails the others after this
  double bucket_mb = 25;         // gradient bucket size (DDP's bucket_cap_mb)

  void visit(ConfigVisitor& v) {
    v.field("backend", backend);
    v.field("timeout_s", timeout_s);
    v.field("bucket_mb", bucket_mb);
  }
};

struct TrainConfig {
  std::string init_checkpoint;   // SAM/MedSAM .pth (bare state dict or {"model": ...}); "" = random init
  std::string output_dir = "runs/train";
  std::string resume;            // checkpoint file or output dir (its newest checkpoint); "" = fresh start
  std::string source = "shards"; // shards (the data loader) | synthetic (random boxes; smoke tests, benches)
  long long seed = 2023;
  std::string device = "auto";   // auto | cpu | cuda
  int threads = 0;               // CPU threads; 0 = all cores
  std::string precision = "auto";// auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16 (CPU: the image encoder)
  long long max_steps = 0;       // optimizer steps; 0 = until `epochs` are done
  long long epochs = 1000;       // MedSAM num_epochs; 0 = until max_steps
  int grad_accum_steps = 1;      // micro-batches per optimizer step
  double clip_grad_norm = 0.0;   // max global L2 norm; 0 = off
  // Parts without gradients and outside the optimizer: prompt_encoder, image_encoder, mask_decoder.
  // MedSAM: [prompt_encoder]; decoder-only fine-tuning: [prompt_encoder, image_encoder].
  std::vector<std::string> freeze{"prompt_encoder"};
  bool activation_checkpointing = false;  // recompute ViT blocks in backward (DESIGN decision 7)
  int max_nonfinite_steps = 10;  // consecutive NaN/inf steps (skipped) before training stops with an error
  long long log_every_steps = 10;
  int synthetic_batch_size = 2;  // source: synthetic only
  long long synthetic_epoch_steps = 100;

  LossConfig loss;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  CheckpointConfig checkpoint;
  ValidationConfig validation;
  TrainLogConfig logs;
  TrainDistConfig dist;

  void visit(ConfigVisitor& v) {
    v.field("init_checkpoint", init_checkpoint);
    v.field("output_dir", output_dir);
    v.field("resume", resume);
    v.field("source", source);
    v.field("seed", seed);
    v.field("device", device);
    v.field("threads", threads);
    v.field("precision", precision);
    v.field("max_steps", max_steps);
    v.field("epochs", epochs);
    v.field("grad_accum_steps", grad_accum_steps);
    v.field("clip_grad_norm", clip_grad_norm);
    v.field("freeze", freeze);
    v.field("activation_checkpointing", activation_checkpointing);
    v.field("max_nonfinite_steps", max_nonfinite_steps);
    v.field("log_every_steps", log_every_steps);
    v.field("synthetic_batch_size", synthetic_batch_size);
    v.field("synthetic_epoch_steps", synthetic_epoch_steps);
    v.sub("loss", loss);
    v.sub("optimizer", optimizer);
    v.sub("schedule", schedule);
    v.sub("checkpoint", checkpoint);
    v.sub("validation", validation);
    v.sub("logs", logs);
    v.sub("dist", dist);
  }

  // Every range and name check that needs no file or device; throws ConfigValueError naming the keys.
  void validate() const;
};

}  // namespace medsam
