// Frozen parts, weight-decay groups and the AdamW update (ref: torch/optim/adamw.py).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "medsam/core/error.h"
#include "medsam/model/build_sam.h"
#include "medsam/io/pickle_value.h"
#include "medsam/train/optimizer.h"

using namespace medsam;
using namespace medsam::train;

namespace {
bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
// Gives `to` the parameter values of `from` (same architecture).
void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard g;
  const auto src = from.parameters(), dst = to.parameters();
  REQUIRE(src.size() == dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}
std::vector<std::string> all_names(AdamW& opt) {
  std::vector<std::string> out;
  for (auto& g : opt.groups()) out.insert(out.end(), g.names.begin(), g.names.end());
  return out;
}
}  // namespace

TEST_CASE("MedSAM default: the prompt encoder is frozen and outside the optimizer", "[train][optimizer]") {
  Sam sam = build_sam("tiny");
  apply_freeze(*sam, {"prompt_encoder"});
  AdamW opt(*sam, OptimizerConfig{});
  const auto names = all_names(opt);
  for (auto& p : sam->prompt_encoder->named_parameters()) {
    CHECK_FALSE(p.value().requires_grad());
    CHECK_FALSE(contains(names, "prompt_encoder." + p.key()));
  }
  CHECK(contains(names, "image_encoder.pos_embed"));
  CHECK(contains(names, "mask_decoder.iou_token.weight"));
  // Without exclusions every parameter is decayed (MedSAM: AdamW(params, weight_decay=0.01)).
  CHECK(opt.groups()[1].params.empty());
  int64_t expected = 0;
  for (auto& p : sam->image_encoder->parameters()) expected += p.numel();
  for (auto& p : sam->mask_decoder->parameters()) expected += p.numel();
  CHECK(opt.num_parameters() == expected);
}

TEST_CASE("decoder-only fine-tuning optimises just the mask decoder", "[train][optimizer]") {
  Sam sam = build_sam("tiny");
  apply_freeze(*sam, {"prompt_encoder", "image_encoder"});
  AdamW opt(*sam, OptimizerConfig{});
  for (const auto& n : all_names(opt)) CHECK(n.rfind("mask_decoder.", 0) == 0);
  CHECK_THROWS_AS(apply_freeze(*sam, {"neck"}), ConfigError);
}

TEST_CASE("weight-decay exclusions: biases, norm weights, embeddings and substrings", "[train][optimizer]") {
  const std::vector<std::string> rules{"bias", "norm", "embedding"};
  CHECK(excluded_from_weight_decay("image_encoder.blocks.0.attn.qkv.bias", 1, rules));
  CHECK(excluded_from_weight_decay("image_encoder.blocks.0.norm1.weight", 1, rules));
  CHECK(excluded_from_weight_decay("image_encoder.neck.1.weight", 1, rules));  // LayerNorm2d
  CHECK(excluded_from_weight_decay("image_encoder.pos_embed", 4, rules));
  CHECK(excluded_from_weight_decay("image_encoder.blocks.1.attn.rel_pos_h", 2, rules));
  CHECK(excluded_from_weight_decay("mask_decoder.mask_tokens.weight", 2, rules));
  CHECK_FALSE(excluded_from_weight_decay("image_encoder.blocks.0.attn.qkv.weight", 2, rules));
  CHECK_FALSE(excluded_from_weight_decay("image_encoder.blocks.0.attn.qkv.bias", 1, {}));
  CHECK(excluded_from_weight_decay("mask_decoder.iou_prediction_head.layers.0.weight", 2, {"iou_prediction_head"}));

  Sam sam = build_sam("tiny");
  apply_freeze(*sam, {"prompt_encoder"});
  OptimizerConfig c;
  c.no_weight_decay = rules;
  AdamW opt(*sam, c);
  CHECK(contains(opt.groups()[1].names, "image_encoder.pos_embed"));
  CHECK(opt.groups()[1].weight_decay == 0.0);
  CHECK(contains(opt.groups()[0].names, "image_encoder.blocks.0.mlp.lin1.weight"));
  CHECK(opt.groups()[0].weight_decay == Approx(0.01));
}

TEST_CASE("one AdamW step: decoupled decay then an lr-sized Adam step", "[train][optimizer]") {
  // p = 1, g = 0.5, lr 0.1, wd 0.01: p <- 1 * (1 - 0.001) = 0.999; m = 0.05, v = 0.00025;
  // bias corrections 0.1 and 0.001 -> step 0.1 / 0.1 * 0.05 / (0.5 + 1e-8) -> p = 0.899.
  torch::nn::Linear lin(torch::nn::LinearOptions(1, 1).bias(false));
  {
    torch::NoGradGuard g;
    lin->weight.fill_(1.0);
  }
  OptimizerConfig c;
  c.lr = 0.1;
  AdamW opt(*lin, c);
  lin->weight.mutable_grad() = torch::full({1, 1}, 0.5);
  opt.step();
  CHECK(lin->weight.item<double>() == Approx(0.899).epsilon(1e-6));
  // A parameter without gradient is skipped: no decay, no step count.
  opt.zero_grad();
  opt.step();
  CHECK(lin->weight.item<double>() == Approx(0.899).epsilon(1e-6));
}

TEST_CASE("the optimizer state round-trips through PyTorch's state_dict layout", "[train][optimizer]") {
  torch::nn::Linear a(2, 3), b(2, 3);
  copy_parameters(*a, *b);
  AdamW oa(*a, OptimizerConfig{}), ob(*b, OptimizerConfig{});
  for (auto& p : a->parameters()) p.mutable_grad() = torch::ones_like(p);
  oa.step();
  const auto sd = oa.state_dict();
  REQUIRE(sd->get("state")->entries.size() == 2);
  CHECK(sd->get("param_groups")->items.size() == 2);
  CHECK(sd->get("state")->entries[0].second->get("step")->tensor.item<double>() == 1.0);
  ob.load_state_dict(*sd);
  for (auto* m : {&a, &b})
    for (auto& p : (*m)->parameters()) p.mutable_grad() = torch::full_like(p, 0.3);
  copy_parameters(*a, *b);
  oa.step();
  ob.step();
  for (size_t i = 0; i < a->parameters().size(); ++i) CHECK(torch::equal(a->parameters()[i], b->parameters()[i]));
}

TEST_CASE("MedSAM's one-group optimizer state loads, moments matched to parameters in model order",
          "[train][optimizer]") {
  // Model order: norm.weight (1-D: no decay, group 1), then lin.weight (group 0); our flat order is the
  // reverse, so a loader that read positions as ours would swap them (and fail on the shapes).
  struct Net : torch::nn::Module {
    torch::Tensor norm_weight = register_parameter("norm_weight", torch::ones({4}));
    torch::nn::Linear lin = register_module("lin", torch::nn::Linear(torch::nn::LinearOptions(4, 2).bias(false)));
  };
  Net net;
  OptimizerConfig config;
  config.no_weight_decay = {"norm"};
  AdamW opt(net, config);
  REQUIRE(opt.groups()[0].names == std::vector<std::string>{"lin.weight"});
  REQUIRE(opt.groups()[1].names == std::vector<std::string>{"norm_weight"});
  // What torch.optim.AdamW(params).state_dict() holds for MedSAM: one group, positions in model order.
  auto state = PickleValue::dict();
  const std::vector<at::Tensor> shapes = {torch::zeros({4}), torch::zeros({2, 4})};
  for (int64_t i = 0; i < 2; ++i) {
    auto entry = PickleValue::dict();
    entry->set_item(PickleValue::of_string("step"), PickleValue::of_tensor(torch::tensor(7.0)));
    entry->set_item(PickleValue::of_string("exp_avg"), PickleValue::of_tensor(torch::full_like(shapes[i], i + 1.0)));
    entry->set_item(PickleValue::of_string("exp_avg_sq"), PickleValue::of_tensor(torch::full_like(shapes[i], i + 10.0)));
    state->set_item(PickleValue::of_int(i), entry);
  }
  auto group = PickleValue::dict();
  group->set_item(PickleValue::of_string("lr"), PickleValue::of_float(3e-5));
  auto params = PickleValue::list();
  for (int64_t i = 0; i < 2; ++i) params->items.push_back(PickleValue::of_int(i));
  group->set_item(PickleValue::of_string("params"), params);
  auto groups = PickleValue::list();
  groups->items.push_back(group);
  auto root = PickleValue::dict();
  root->set_item(PickleValue::of_string("state"), state);
  root->set_item(PickleValue::of_string("param_groups"), groups);
  opt.load_state_dict(*root);

  // Ours again, two groups: flat 0 = lin.weight (group 0), flat 1 = norm_weight (group 1).
  const auto sd = opt.state_dict();
  const auto& entries = sd->get("state")->entries;
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].second->get("exp_avg")->tensor.sizes() == at::IntArrayRef{2, 4});
  CHECK(torch::all(entries[0].second->get("exp_avg")->tensor == 2.0).item<bool>());     // Python's position 1
  CHECK(torch::all(entries[1].second->get("exp_avg_sq")->tensor == 10.0).item<bool>());  // Python's position 0
  CHECK(entries[1].second->get("step")->tensor.item<double>() == 7.0);
  for (const auto& g : opt.groups()) CHECK(g.lr == Approx(3e-5));

  // A run that trains another set of parameters than the file's is refused, naming the counts.
  params->items.pop_back();
  CHECK_THROWS_WITH(opt.load_state_dict(*root), Catch::Contains("one parameter group of 1 parameters") &&
                                                     Catch::Contains("this run trains 2"));
}

namespace {
// The per-parameter update (ref: torch/optim/adamw.py _single_tensor_adamw), written out plainly: what
// AdamW::step's multi-tensor form must reproduce.
struct PlainAdamW {
  OptimizerConfig c;
  std::vector<at::Tensor> m, v;
  std::vector<int64_t> steps;
  void step(std::vector<at::Tensor>& params, const std::vector<double>& weight_decay, double lr) {
    torch::NoGradGuard no_grad;
    m.resize(params.size());
    v.resize(params.size());
    steps.resize(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      auto& p = params[i];
      if (!p.grad().defined()) continue;
      if (!m[i].defined()) m[i] = torch::zeros_like(p), v[i] = torch::zeros_like(p);
      const int64_t t = ++steps[i];
      p.mul_(1.0 - lr * weight_decay[i]);
      m[i].lerp_(p.grad(), 1.0 - c.beta1);
      v[i].mul_(c.beta2).addcmul_(p.grad(), p.grad(), 1.0 - c.beta2);
      const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
      p.addcdiv_(m[i], (v[i].sqrt() / std::sqrt(bc2)).add_(c.eps), -lr / bc1);
    }
  }
};
}  // namespace

TEST_CASE("the multi-tensor AdamW step equals the per-parameter update, with uneven step counts",
          "[train][optimizer]") {
  torch::manual_seed(3);
  Sam a = build_sam("tiny"), b = build_sam("tiny");
  copy_parameters(*a, *b);
  apply_freeze(*a, {"prompt_encoder"});
  OptimizerConfig c;
  c.no_weight_decay = {"bias", "norm"};  // two groups with different decay
  AdamW opt(*a, c);
  std::vector<at::Tensor> plain_params;
  std::vector<double> decay;
  const auto named_b = b->named_parameters();
  for (const auto& g : opt.groups())
    for (const auto& name : g.names) {
      plain_params.push_back(named_b[name]);
      decay.push_back(g.weight_decay);
    }
  PlainAdamW plain;
  plain.c = c;
  const std::vector<at::Tensor> ours = opt.parameters();
  REQUIRE(ours.size() == plain_params.size());
  for (int step = 0; step < 4; ++step) {
    opt.zero_grad();
    for (size_t i = 0; i < ours.size(); ++i) {
      // Every third parameter skips the first two steps: its step count lags (separate bias corrections).
      const bool has_grad = !(i % 3 == 0 && step < 2);
      at::Tensor grad = has_grad ? torch::randn_like(ours[i]) : at::Tensor();
      ours[i].mutable_grad() = grad.defined() ? grad.clone() : grad;
      plain_params[i].mutable_grad() = grad;
    }
    const double lr = 1e-3 * (step + 1);
    opt.set_lr(lr);
    opt.step();
    plain.step(plain_params, decay, lr);
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO("parameter " << i);
    CHECK(torch::equal(ours[i], plain_params[i]));
  }
  // The lagging parameters' step counts (2) and the others' (4) are what the state records.
  const auto sd = opt.state_dict();
  CHECK(sd->get("state")->entries[0].second->get("step")->tensor.item<double>() == 2.0);
  CHECK(sd->get("state")->entries[1].second->get("step")->tensor.item<double>() == 4.0);
}

TEST_CASE("on CUDA the multi-tensor AdamW step matches the CPU's", "[train][optimizer][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("skipped: no CUDA device (this test runs on GPU machines only)");
    return;
  }
  // The fused CUDA foreach kernels (and _foreach_lerp_ of LibTorch 2.x) against the CPU's per-tensor
  // kernels: equal up to float rounding (FMA contraction), 3 steps on the tiny model.
  torch::manual_seed(4);
  Sam cpu = build_sam("tiny"), gpu = build_sam("tiny");
  copy_parameters(*cpu, *gpu);
  gpu->to(torch::kCUDA);
  apply_freeze(*cpu, {"prompt_encoder"});
  apply_freeze(*gpu, {"prompt_encoder"});
  OptimizerConfig c;
  c.lr = 1e-3;
  c.no_weight_decay = {"bias", "norm"};
  AdamW oc(*cpu, c), og(*gpu, c);
  const auto pc = oc.parameters(), pg = og.parameters();
  REQUIRE(pc.size() == pg.size());
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < pc.size(); ++i) {
      const auto grad = torch::randn_like(pc[i]);
      pc[i].mutable_grad() = grad;
      pg[i].mutable_grad() = grad.to(torch::kCUDA);
    }
    oc.step();
    og.step();
  }
  double worst = 0;
  for (size_t i = 0; i < pc.size(); ++i) {
    const double scale = std::max(1e-3, pc[i].abs().max().item<double>());
    worst = std::max(worst, (pg[i].cpu() - pc[i]).abs().max().item<double>() / scale);
  }
  WARN("CUDA vs CPU AdamW after 3 steps: worst max-abs difference relative to the parameter's max: " << worst);
  CHECK(worst < 1e-5);
}
