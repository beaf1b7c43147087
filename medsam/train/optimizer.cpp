#include "medsam/train/optimizer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/core/torch_compat.h"

namespace medsam::train {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const std::vector<std::string> kParts{"prompt_encoder", "image_encoder", "mask_decoder"};

}  // namespace

void apply_freeze(torch::nn::Module& sam, const std::vector<std::string>& frozen_parts) {
  for (const auto& part : frozen_parts)
    if (std::find(kParts.begin(), kParts.end(), part) == kParts.end())
      throw ConfigError(fmt::format("train.freeze: unknown part '{}' (known: prompt_encoder, image_encoder, mask_decoder)", part));
  for (auto& item : sam.named_parameters(/*recurse=*/true)) {
    bool frozen = false;
    for (const auto& part : frozen_parts) frozen = frozen || starts_with(item.key(), part + ".");
    item.value().set_requires_grad(!frozen);
  }
}

bool excluded_from_weight_decay(const std::string& name, int64_t dim, const std::vector<std::string>& rules) {
  for (const auto& rule : rules) {
    if (rule == "bias") {
      if (ends_with(name, "bias")) return true;
    } else if (rule == "norm") {
      // Every 1-D weight in SAM belongs to a LayerNorm or LayerNorm2d.
      if (dim <= 1 && ends_with(name, "weight")) return true;
    } else if (rule == "embedding") {
      for (const char* e : {"pos_embed", "rel_pos_h", "rel_pos_w", "point_embeddings.", "not_a_point_embed.",
                            "no_mask_embed.", "iou_token.", "mask_tokens."})
        if (name.find(e) != std::string::npos) return true;
    } else if (!rule.empty() && name.find(rule) != std::string::npos) {
      return true;
    }
  }
  return false;
}

AdamW::AdamW(torch::nn::Module& model, const OptimizerConfig& config) : config_(config), groups_(2) {
  groups_[0].weight_decay = config.weight_decay;
  groups_[1].weight_decay = 0.0;
  for (auto& item : model.named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    const size_t gi = excluded_from_weight_decay(item.key(), item.value().dim(), config.no_weight_decay) ? 1 : 0;
    auto& g = groups_[gi];
    model_order_.emplace_back(gi, g.params.size());
    g.names.push_back(item.key());
    g.params.push_back(item.value());
  }
  for (auto& g : groups_) g.lr = config.lr;
  slots_.resize(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) slots_[i].resize(groups_[i].params.size());
}

void AdamW::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr;
}

void AdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.mutable_grad() = at::Tensor();  // set_to_none, as torch >= 2.0 does
}

namespace {

// Parameters updated by one set of multi-tensor calls: the same step count (so the bias corrections are
// scalars) and at most kMaxElements elements (the square-root denominators of one call are temporaries).
struct UpdateList {
  int64_t step = 0;
  int64_t elements = 0;
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};
constexpr int64_t kMaxElements = int64_t{1} << 24;  // 64 MiB of fp32 temporaries

// ref: torch/optim/adamw.py _multi_tensor_adamw (amsgrad=False, maximize=False, capturable=False): the
// per-parameter update of _single_tensor_adamw, each line one call over the whole list. On CUDA that is a
// few kernels per list instead of ~8 per parameter (ViT-B: ~300 parameters), on the CPU the same
// elementwise kernels as the per-parameter form, so the result is bitwise the same there.
void adamw_update(const UpdateList& u, double lr, double weight_decay, const OptimizerConfig& c) {
  if (weight_decay != 0.0) at::_foreach_mul_(u.params, 1.0 - lr * weight_decay);
  compat::foreach_lerp_(u.exp_avgs, u.grads, 1.0 - c.beta1);
  at::_foreach_mul_(u.exp_avg_sqs, c.beta2);
  at::_foreach_addcmul_(u.exp_avg_sqs, u.grads, u.grads, 1.0 - c.beta2);
  const double bias_correction1 = 1.0 - std::pow(c.beta1, static_cast<double>(u.step));
  const double bias_correction2 = 1.0 - std::pow(c.beta2, static_cast<double>(u.step));
  std::vector<at::Tensor> denom = at::_foreach_sqrt(u.exp_avg_sqs);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, c.eps);
  at::_foreach_addcdiv_(u.params, u.exp_avgs, denom, -lr / bias_correction1);
}

}  // namespace

void AdamW::step() {
  torch::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    auto& g = groups_[gi];
    std::vector<UpdateList> lists;
    for (size_t i = 0; i < g.params.size(); ++i) {
      const at::Tensor& p = g.params[i];
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;  // as torch: neither decayed nor counted
      Slot& s = slots_[gi][i];
      if (!s.exp_avg.defined()) {
        s.exp_avg = torch::zeros_like(p, at::MemoryFormat::Preserve);
        s.exp_avg_sq = torch::zeros_like(p, at::MemoryFormat::Preserve);
      }
      s.step += 1;
      // Steps differ only where a parameter went without gradient for a while: almost always one list.
      auto it = std::find_if(lists.begin(), lists.end(), [&](const UpdateList& u) {
        return u.step == s.step && u.elements + p.numel() <= kMaxElements;
      });
      if (it == lists.end()) {
        lists.emplace_back();
        it = std::prev(lists.end());
        it->step = s.step;
      }
      it->elements += p.numel();
      it->params.push_back(p);
      it->grads.push_back(grad);
      it->exp_avgs.push_back(s.exp_avg);
      it->exp_avg_sqs.push_back(s.exp_avg_sq);
    }
    for (const UpdateList& u : lists) adamw_update(u, g.lr, g.weight_decay, config_);
  }
}

std::vector<at::Tensor> AdamW::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

int64_t AdamW::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

PickleRef AdamW::state_dict() const {
  auto state = PickleValue::dict();
  auto groups = PickleValue::list();
  int64_t index = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    auto params = PickleValue::list();
    for (size_t i = 0; i < g.params.size(); ++i, ++index) {
      params->items.push_back(PickleValue::of_int(index));
      const Slot& s = slots_[gi][i];
      if (!s.exp_avg.defined()) continue;  // never stepped (e.g. the IoU head): absent, as in torch
      auto entry = PickleValue::dict();
      entry->set_item(PickleValue::of_string("step"),
                      PickleValue::of_tensor(torch::tensor(static_cast<double>(s.step), torch::kFloat32)));
      entry->set_item(PickleValue::of_string("exp_avg"), PickleValue::of_tensor(s.exp_avg.detach().cpu()));
      entry->set_item(PickleValue::of_string("exp_avg_sq"), PickleValue::of_tensor(s.exp_avg_sq.detach().cpu()));
      state->set_item(PickleValue::of_int(index), entry);
    }
    auto group = PickleValue::dict();
    auto set = [&](const char* k, PickleRef v) { group->set_item(PickleValue::of_string(k), std::move(v)); };
    set("lr", PickleValue::of_float(g.lr));
    set("betas", PickleValue::tuple({PickleValue::of_float(config_.beta1), PickleValue::of_float(config_.beta2)}));
    set("eps", PickleValue::of_float(config_.eps));
    set("weight_decay", PickleValue::of_float(g.weight_decay));
    set("amsgrad", PickleValue::of_bool(false));
    set("maximize", PickleValue::of_bool(false));
    set("foreach", PickleValue::none());
    set("capturable", PickleValue::of_bool(false));
    set("differentiable", PickleValue::of_bool(false));
    set("fused", PickleValue::none());
    set("params", params);
    groups->items.push_back(group);
  }
  auto root = PickleValue::dict();
  root->set_item(PickleValue::of_string("state"), state);
  root->set_item(PickleValue::of_string("param_groups"), groups);
  return root;
}

void AdamW::load_state_dict(const PickleValue& root) {
  const PickleValue* state = root.get("state");
  const PickleValue* groups = root.get("param_groups");
  if (!state || !state->is_dict() || !groups || !groups->is(PickleValue::Kind::List))
    throw Error("optimizer state: expected {\"state\": {...}, \"param_groups\": [...]}");
  // ref: MedSAM train_one_gpu.py main (torch.optim.AdamW(img_mask_encdec_params, ...): one group)
  const bool one_group = groups->items.size() == 1 && groups_.size() > 1;
  if (one_group) {
    const PickleValue* params = groups->items[0]->get("params");
    if (!params || params->items.size() != model_order_.size())
      throw Error(fmt::format("optimizer state: one parameter group of {} parameters (MedSAM's layout), this run "
                              "trains {} (train.freeze differs from that run's?)", params ? params->items.size() : 0,
                              model_order_.size()));
    if (const PickleValue* lr = groups->items[0]->get("lr"))
      for (auto& g : groups_) g.lr = lr->real;
    log_info("optimizer state in one parameter group (MedSAM's train_one_gpu.py): moments matched to the {} "
             "trainable parameters in model order; weight decay from here on per optimizer.no_weight_decay",
             model_order_.size());
  } else {
    if (groups->items.size() != groups_.size())
      throw Error(fmt::format("optimizer state: {} parameter groups, this run has {} (frozen parts or "
                              "no_weight_decay changed?)", groups->items.size(), groups_.size()));
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const PickleValue* params = groups->items[gi]->get("params");
      if (!params || params->items.size() != groups_[gi].params.size())
        throw Error(fmt::format("optimizer state: group {} holds {} parameters, this run has {} (frozen parts or "
                                "no_weight_decay changed?)", gi, params ? params->items.size() : 0,
                                groups_[gi].params.size()));
      if (const PickleValue* lr = groups->items[gi]->get("lr")) groups_[gi].lr = lr->real;
    }
  }
  // The state's parameter index i -> (group, index in group): model order for MedSAM's one group, else our
  // groups one after the other, as state_dict() numbers them.
  std::vector<std::pair<size_t, size_t>> slot_of = model_order_;
  if (!one_group) {
    slot_of.clear();
    for (size_t gi = 0; gi < groups_.size(); ++gi)
      for (size_t i = 0; i < groups_[gi].params.size(); ++i) slot_of.emplace_back(gi, i);
  }
  std::vector<std::vector<Slot>> slots(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) slots[gi].resize(groups_[gi].params.size());
  for (const auto& [key, entry] : state->entries) {
    if (key->kind != PickleValue::Kind::Int || key->integer < 0 ||
        key->integer >= static_cast<int64_t>(slot_of.size()))
      throw Error(fmt::format("optimizer state: parameter index {} out of range", key->repr()));
    const auto [gi, index] = slot_of[static_cast<size_t>(key->integer)];
    const at::Tensor& p = groups_[gi].params[index];
    const PickleValue* step = entry->get("step");
    const PickleValue* m = entry->get("exp_avg");
    const PickleValue* v = entry->get("exp_avg_sq");
    if (!step || !m || !v || !m->is_tensor() || !v->is_tensor())
      throw Error(fmt::format("optimizer state: parameter {} lacks step/exp_avg/exp_avg_sq", key->integer));
    if (m->tensor.sizes() != p.sizes() || v->tensor.sizes() != p.sizes())
      throw Error(fmt::format("optimizer state: parameter {} ({}) has moments of shape [{}], parameter is [{}]",
                              key->integer, groups_[gi].names[index],
                              fmt::join(m->tensor.sizes().vec(), ", "), fmt::join(p.sizes().vec(), ", ")));
    Slot& s = slots[gi][index];
    s.step = step->is_tensor() ? static_cast<int64_t>(step->tensor.item<double>())
                               : (step->kind == PickleValue::Kind::Float ? static_cast<int64_t>(step->real) : step->integer);
    s.exp_avg = m->tensor.to(p.options()).clone();
    s.exp_avg_sq = v->tensor.to(p.options()).clone();
  }
  slots_ = std::move(slots);
}

}  // namespace medsam::train
