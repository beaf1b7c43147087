// AdamW over SAM's trainable parameters: which parts are frozen, which parameters are decayed, and the
// update itself (our own, so that its state is plain tensors we checkpoint exactly and write in
// PyTorch's optimizer.state_dict() layout).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/core/config_train.h"
#include "medsam/io/pickle_value.h"

namespace torch::nn {
class Module;
}

namespace medsam::train {

// Sets requires_grad=false on every parameter of the named top-level parts (prompt_encoder,
// image_encoder, mask_decoder) and true on the others. Throws ConfigError for an unknown part.
void apply_freeze(torch::nn::Module& sam, const std::vector<std::string>& frozen_parts);

// True when `name` (a SAM state_dict name of a parameter with `dim` dimensions) matches one of the
// no-weight-decay rules (see OptimizerConfig::no_weight_decay).
bool excluded_from_weight_decay(const std::string& name, int64_t dim, const std::vector<std::string>& rules);

struct ParamGroup {
  std::vector<std::string> names;
  std::vector<at::Tensor> params;
  double weight_decay = 0.0;
  double lr = 0.0;  // set every step by the schedule
};

// ref: torch/optim/adamw.py _single_tensor_adamw (amsgrad=False, maximize=False): decoupled weight
// decay p *= 1 - lr*wd, then Adam with bias correction. Parameters whose .grad is undefined are skipped
// (neither decayed nor counted), as torch does. step() runs it as torch's _multi_tensor_adamw does:
// multi-tensor (foreach) calls over all parameters of a group that share a step count.
class AdamW {
 public:
  // Group 0: decayed parameters; group 1: excluded ones (weight_decay 0). Only parameters with
  // requires_grad, in named_parameters() order.
  AdamW(torch::nn::Module& model, const OptimizerConfig& config);

  void set_lr(double lr);
  void zero_grad();
  void step();  // under no_grad

  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::vector<at::Tensor> parameters() const;  // group order
  int64_t num_parameters() const;              // scalar elements optimised

  // PyTorch's layout: {"state": {i: {"step": tensor, "exp_avg", "exp_avg_sq"}}, "param_groups":
  // [{"lr", "betas", "eps", "weight_decay", "amsgrad", ..., "params": [i...]}]}, i counting over groups.
  PickleRef state_dict() const;
  // Reads what state_dict() wrote; throws Error when the parameter count or a shape differs. Also takes
  // the one-group state of MedSAM's train_one_gpu.py (AdamW over image encoder + mask decoder parameters,
  // in model order): entry i goes to this run's i-th trainable parameter in named_parameters() order,
  // which is SAM's (tests/model/sam_keys_test.cpp).
  void load_state_dict(const PickleValue& state);

 private:
  struct Slot {
    int64_t step = 0;
    at::Tensor exp_avg, exp_avg_sq;
  };
  OptimizerConfig config_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<Slot>> slots_;
  // (group, index in group) of each trainable parameter, in named_parameters() order.
  std::vector<std::pair<size_t, size_t>> model_order_;
};

}  // namespace medsam::train
