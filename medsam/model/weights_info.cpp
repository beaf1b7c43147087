#include "medsam/model/weights_info.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>

#include "medsam/model/presets.h"

namespace medsam {
namespace {

std::string dtype_name(c10::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

// Thousands separators: 93,735,472.
std::string grouped(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

// Facts of a {"model", "optimizer", "epoch", ...} training checkpoint, other than the weights.
std::vector<std::string> training_facts(const Checkpoint& ck) {
  std::vector<std::string> out;
  if (!ck.root || ck.wrapper.empty()) return out;
  for (const auto& [k, v] : ck.root->entries) {
    if (k->kind != PickleValue::Kind::String || k->text == ck.wrapper) continue;
    if (k->text == "optimizer" && v->is_dict()) {
      const PickleValue* groups = v->get("param_groups");
      const PickleValue* state = v->get("state");
      std::string line = "optimizer:";
      if (groups && groups->kind == PickleValue::Kind::List) {
        line += fmt::format(" {} param group(s)", groups->items.size());
        if (!groups->items.empty()) {
          const PickleValue& g = *groups->items[0];
          for (const char* key : {"lr", "weight_decay", "betas"})
            if (const PickleValue* x = g.get(key)) line += fmt::format(", {} {}", key, x->repr(40));
        }
      }
      if (state && state->is_dict()) line += fmt::format(", state for {} parameter(s)", state->entries.size());
      out.push_back(line);
    } else {
      out.push_back(fmt::format("{}: {}", k->text, v->repr(80)));
    }
  }
  return out;
}

}  // namespace

CheckpointSummary summarize_checkpoint(const std::string& path) {
  CheckpointSummary s;
  s.checkpoint = read_checkpoint(path);
  const NamedTensors& tensors = s.checkpoint.tensors;
  s.tensor_count = tensors.size();
  for (const auto& [k, t] : tensors) {
    s.value_count += uint64_t(t.numel());
    ++s.dtypes[dtype_name(t.scalar_type())];
    const std::string top = k.substr(0, k.find('.'));
    auto it = std::find_if(s.per_module.begin(), s.per_module.end(), [&](const auto& p) { return p.first == top; });
    if (it == s.per_module.end()) s.per_module.emplace_back(top, uint64_t(t.numel()));
    else it->second += uint64_t(t.numel());
    const auto strides = t.strides();
    if (t.numel() > 1 && std::find(strides.begin(), strides.end(), 0) != strides.end()) ++s.broadcast_tensors;
  }
  s.arch_guess = guess_arch(tensors);
  if (s.arch_guess.empty()) {  // a preset's layout at another input size (fine-tuned at 512², say)?
    s.arch_guess = guess_arch(tensors, /*any_input_size=*/true);
    if (!s.arch_guess.empty()) s.input_size = checkpoint_input_size(tensors);
  }
  if (!s.arch_guess.empty()) {
    s.vs_arch = compare_weights(expected_state_dict(s.arch_guess, s.input_size), s.checkpoint);
    s.compared = true;
  }
  s.training = training_facts(s.checkpoint);
  return s;
}

std::string format_summary(const CheckpointSummary& s) {
  const Checkpoint& ck = s.checkpoint;
  std::vector<std::string> lines;
  lines.push_back(fmt::format("file: {}", ck.path));
  lines.push_back(fmt::format("format: {}", ck.format == "pth" ? "pth (torch.save zip archive)" : "safetensors"));
  std::string layout = ck.wrapper.empty() ? "bare state dict" : fmt::format("state dict under '{}'", ck.wrapper);
  if (!ck.stripped_prefix.empty()) layout += fmt::format(", keys prefixed '{}' (stripped)", ck.stripped_prefix);
  lines.push_back(fmt::format("layout: {}", layout));
  lines.push_back(fmt::format("arch: {}", s.arch_guess.empty() ? "unknown (shapes match no preset)"
                                          : s.input_size > 0
                                              ? fmt::format("{} at {}x{} input", s.arch_guess, s.input_size, s.input_size)
                                              : s.arch_guess));
  lines.push_back(fmt::format("tensors: {}", s.tensor_count));
  lines.push_back(fmt::format("parameters: {}", grouped(s.value_count)));
  std::vector<std::string> d;
  for (const auto& [name, n] : s.dtypes) d.push_back(fmt::format("{} x{}", name, n));
  lines.push_back(fmt::format("dtypes: {}", d.empty() ? "none" : fmt::format("{}", fmt::join(d, ", "))));
  for (const auto& [module, n] : s.per_module) lines.push_back(fmt::format("  {}: {}", module, grouped(n)));
  if (s.broadcast_tensors > 0)
    lines.push_back(fmt::format("note: {} tensors are stored broadcast (a zero stride)", s.broadcast_tensors));
  if (s.compared) {
    if (s.vs_arch.exact()) {
      lines.push_back(fmt::format("keys: all {} match {}", s.vs_arch.loaded, s.arch_guess));
    } else {
      lines.push_back(fmt::format("keys vs {}: {} missing, {} unexpected, {} shape mismatches", s.arch_guess,
                                  s.vs_arch.missing.size(), s.vs_arch.unexpected.size(), s.vs_arch.mismatched.size()));
      for (const auto& k : s.vs_arch.missing) lines.push_back("  missing: " + k);
      for (const auto& k : s.vs_arch.unexpected) lines.push_back("  unexpected: " + k);
      for (const auto& m : s.vs_arch.mismatched)
        lines.push_back(fmt::format("  shape: {} [{}] vs model [{}]", m.key, fmt::join(m.checkpoint_shape, ", "),
                                    fmt::join(m.model_shape, ", ")));
    }
  }
  for (const auto& t : s.training) lines.push_back("training " + t);
  for (const auto& [k, v] : ck.metadata) lines.push_back(fmt::format("metadata {}: {}", k, v));
  return fmt::format("{}\n", fmt::join(lines, "\n"));
}

}  // namespace medsam
