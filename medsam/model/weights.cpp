// ref: torch/nn/modules/module.py Module.load_state_dict (strict report of missing/unexpected keys,
// shape checks before copying), segment_anything/build_sam.py _build_sam (torch.load + load_state_dict)
#include "medsam/model/weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/pth.h"
#include "medsam/io/safetensors.h"
#include "medsam/model/build_sam.h"
#include "medsam/model/presets.h"
#include "medsam/model/resolution.h"

namespace medsam {
namespace {

// Keys under which training scripts keep the state dict ({"model": ...} is MedSAM's).
constexpr const char* kWrappers[] = {"model", "state_dict", "model_state_dict"};
// Prefixes wrappers add to every key: DDP / DataParallel, torch.compile.
constexpr const char* kPrefixes[] = {"module.", "_orig_mod."};

bool all_tensors(const PickleValue& dict) {
  return std::all_of(dict.entries.begin(), dict.entries.end(), [](const auto& kv) {
    return kv.first->kind == PickleValue::Kind::String && kv.second->is_tensor();
  });
}

NamedTensors unwrap(const PickleValue& root, const std::string& path, std::string& wrapper) {
  if (root.is_dict() && all_tensors(root)) return tensors_of_dict(root, path);
  if (root.is_dict()) {
    for (const char* w : kWrappers) {
      const PickleValue* inner = root.get(w);
      if (inner && inner->is_dict() && all_tensors(*inner)) {
        wrapper = w;
        return tensors_of_dict(*inner, path);
      }
    }
    std::vector<std::string> keys;
    for (const auto& [k, v] : root.entries) {
      if (keys.size() == 8) {
        keys.push_back("...");
        break;
      }
      keys.push_back(fmt::format("{} ({})", k->repr(40), v->type_name()));
    }
    throw Error(fmt::format("checkpoint {}: holds a dict with keys {} but no state dict (expected tensors, or a "
                            "'model' entry of tensors)",
                            path, fmt::join(keys, ", ")));
  }
  throw Error(fmt::format("checkpoint {}: holds a {}, not a state dict", path, root.type_name()));
}

// Wrappers nest (DDP around torch.compile saves "module._orig_mod.*"), so prefixes are stripped for
// as long as every key carries one; the result is what was stripped, outermost first.
std::string strip_prefix(NamedTensors& tensors) {
  if (tensors.empty()) return "";
  std::string stripped;
  for (bool again = true; again;) {
    again = false;
    for (const std::string prefix : kPrefixes) {
      const bool all = std::all_of(tensors.begin(), tensors.end(),
                                   [&](const auto& kv) { return kv.first.compare(0, prefix.size(), prefix) == 0; });
      if (!all) continue;
      for (auto& kv : tensors) kv.first.erase(0, prefix.size());
      stripped += prefix;
      again = true;
    }
  }
  return stripped;
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// state_dict order: a module's own parameters, then its own buffers, then each child in turn.
// ref: torch/nn/modules/module.py Module.state_dict / _save_to_state_dict
void collect_state(const torch::nn::Module& m, const std::string& prefix, NamedTensors& out) {
  for (const auto& item : m.named_parameters(false)) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : m.named_buffers(false)) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& child : m.named_children()) collect_state(*child.value(), prefix + child.key() + ".", out);
}


std::string first_few(const std::vector<std::string>& keys, size_t n = 3) {
  std::vector<std::string> shown(keys.begin(), keys.begin() + std::min(n, keys.size()));
  if (keys.size() > n) shown.push_back(fmt::format("... {} more", keys.size() - n));
  return fmt::format("{}", fmt::join(shown, ", "));
}

}  // namespace

NamedTensors module_tensors(const torch::nn::Module& model) {
  NamedTensors out;
  collect_state(model, "", out);
  return out;
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint ck;
  ck.path = path;
  if (looks_like_safetensors_file(path)) {
    SafetensorsFile f = read_safetensors(path);
    ck.format = "safetensors";
    ck.tensors = std::move(f.tensors);
    ck.metadata = std::move(f.metadata);
  } else {
    ck.format = "pth";
    ck.root = read_pth(path);
    ck.tensors = unwrap(*ck.root, path, ck.wrapper);
  }
  ck.stripped_prefix = strip_prefix(ck.tensors);
  return ck;
}

std::string WeightsReport::describe() const {
  if (exact()) return fmt::format("checkpoint {}: all {} tensors match the model", path, loaded);
  const std::string hint = arch_guess.empty() ? std::string(" (try --arch auto)")
                                              : fmt::format(" (is this a {} checkpoint? try --arch auto)", arch_guess);
  if (mismatched.size() == 1 && missing.empty() && unexpected.empty()) {
    const ShapeMismatch& m = mismatched[0];
    return fmt::format("checkpoint {}: key {} has shape {}, model expects {}{}", path, m.key,
                       shape_text(m.checkpoint_shape), shape_text(m.model_shape), hint);
  }
  std::vector<std::string> parts;
  if (!mismatched.empty()) {
    const ShapeMismatch& m = mismatched[0];
    parts.push_back(fmt::format("{} shape mismatches (key {} has shape {}, model expects {}{})", mismatched.size(), m.key,
                                shape_text(m.checkpoint_shape), shape_text(m.model_shape),
                                mismatched.size() > 1 ? ", ..." : ""));
  }
  if (!missing.empty()) parts.push_back(fmt::format("{} missing keys ({})", missing.size(), first_few(missing)));
  if (!unexpected.empty())
    parts.push_back(fmt::format("{} unexpected keys ({})", unexpected.size(), first_few(unexpected)));
  return fmt::format("checkpoint {} does not match the model: {}{}", path, fmt::join(parts, "; "), hint);
}

WeightsReport compare_weights(const NamedTensors& model_tensors, const Checkpoint& ck) {
  WeightsReport r;
  r.path = ck.path;
  r.format = ck.format;
  r.wrapper = ck.wrapper;
  r.stripped_prefix = ck.stripped_prefix;
  r.arch_guess = guess_arch(ck.tensors);
  if (r.arch_guess == guess_arch(model_tensors)) r.arch_guess.clear();  // the hint only helps when they differ
  std::unordered_map<std::string, const at::Tensor*> in_file;
  for (const auto& [k, t] : ck.tensors) in_file.emplace(k, &t);
  std::unordered_map<std::string, bool> in_model;
  for (const auto& [k, t] : model_tensors) {
    in_model.emplace(k, true);
    auto it = in_file.find(k);
    if (it == in_file.end()) {
      r.missing.push_back(k);
    } else if (it->second->sizes() != t.sizes()) {
      r.mismatched.push_back({k, it->second->sizes().vec(), t.sizes().vec()});
    } else {
      ++r.loaded;
    }
  }
  for (const auto& [k, t] : ck.tensors)
    if (!in_model.count(k)) r.unexpected.push_back(k);
  return r;
}

WeightsReport load_weights(torch::nn::Module& model, const Checkpoint& checkpoint, bool strict) {
  const NamedTensors targets = module_tensors(model);
  NamedTensors tensors = checkpoint.tensors;  // handles: only resized entries get new storage
  const std::vector<std::string> resized = resize_to_model_resolution(tensors, targets);
  for (const std::string& line : resized) log_info("checkpoint {}: {}", checkpoint.path, line);
  Checkpoint adapted;
  if (!resized.empty()) {
    adapted = checkpoint;
    adapted.tensors = std::move(tensors);
  }
  const Checkpoint& ck = resized.empty() ? checkpoint : adapted;
  WeightsReport r = compare_weights(targets, ck);
  r.resized = resized;
  // ref: torch/nn/modules/module.py Module._load_from_state_dict (size mismatch is an error in both modes)
  if ((strict && !r.exact()) || !r.mismatched.empty()) throw Error(r.describe());
  std::unordered_map<std::string, const at::Tensor*> in_file;
  for (const auto& [k, t] : ck.tensors) in_file.emplace(k, &t);
  torch::NoGradGuard no_grad;
  r.loaded = 0;
  for (const auto& [k, dst] : targets) {
    auto it = in_file.find(k);
    if (it == in_file.end() || it->second->sizes() != dst.sizes()) continue;
    at::Tensor target = dst;  // shares the parameter's storage
    target.copy_(*it->second);
    ++r.loaded;
  }
  return r;
}

WeightsReport load_weights(torch::nn::Module& model, const std::string& path, bool strict) {
  return load_weights(model, read_checkpoint(path), strict);
}

// ref: segment_anything/build_sam.py (the presets differ in encoder width and depth)
std::string guess_arch(const NamedTensors& tensors, bool any_input_size) {
  int64_t embed_dim = -1, patch = -1, depth = 0, out_chans = -1, grid = -1;
  const std::string blocks = "image_encoder.blocks.";
  for (const auto& [k, t] : tensors) {
    if (k == "image_encoder.patch_embed.proj.weight" && t.dim() == 4) {
      embed_dim = t.size(0);
      patch = t.size(2);
    } else if (k == "image_encoder.neck.0.weight" && t.dim() >= 1) {
      out_chans = t.size(0);
    } else if (k == "image_encoder.pos_embed" && t.dim() == 4) {
      grid = t.size(1);
    } else if (k.compare(0, blocks.size(), blocks) == 0) {
      const size_t dot = k.find('.', blocks.size());
      const std::string index = k.substr(blocks.size(), dot - blocks.size());
      const bool digits = std::all_of(index.begin(), index.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
      if (!index.empty() && index.size() < 6 && digits)
        depth = std::max<int64_t>(depth, std::stoll(index) + 1);
    }
  }
  if (embed_dim < 0) return "";
  for (const std::string& name : model_preset_names()) {
    const ImageEncoderConfig e = model_preset(name).image_encoder;
    if (e.embed_dim != embed_dim || e.depth != depth) continue;
    if (out_chans >= 0 && e.out_chans != out_chans) continue;
    if (!any_input_size && grid >= 0 && patch > 0 && e.img_size != grid * patch) continue;
    return name;
  }
  return "";
}

int checkpoint_input_size(const NamedTensors& tensors) {
  int64_t grid = 0, patch = 0;
  for (const auto& [k, t] : tensors) {
    if (k == "image_encoder.pos_embed" && t.dim() == 4) grid = t.size(1);
    if (k == "image_encoder.patch_embed.proj.weight" && t.dim() == 4) patch = t.size(2);
  }
  return static_cast<int>(grid * patch);
}

ModelConfig config_from_checkpoint(const NamedTensors& tensors, const std::string& path) {
  const std::string arch = guess_arch(tensors);
  if (!arch.empty()) return model_preset(arch);
  const std::string layout = guess_arch(tensors, /*any_input_size=*/true);
  const int size = checkpoint_input_size(tensors);
  if (!layout.empty() && size > 0) {
    log_info("checkpoint {}: {} layout at {}x{} input (the preset's is {})", path, layout, size, size,
             model_preset(layout).image_encoder.img_size);
    return at_input_size(model_preset(layout), size);
  }
  std::string seen = "no image_encoder.patch_embed.proj.weight";
  for (const auto& [k, t] : tensors)
    if (k == "image_encoder.patch_embed.proj.weight") seen = fmt::format("patch_embed {}", shape_text(t.sizes().vec()));
  throw Error(fmt::format("checkpoint {}: cannot tell the architecture from its shapes ({}, {} tensors); pass --arch "
                          "vit_b|vit_l|vit_h|tiny",
                          path, seen, tensors.size()));
}

NamedTensors expected_state_dict(const std::string& preset, int input_size) {
  // Building the model costs its full size once (2.5 GB for vit_h); keep only names, shapes and
  // dtypes, as zero-stride placeholders, and remember them per preset and input size.
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, NamedTensors> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const ModelConfig preset_config = model_preset(preset);
  const int size = input_size > 0 ? input_size : preset_config.image_encoder.img_size;
  const auto key = std::make_pair(preset, size);
  auto it = cache.find(key);
  if (it == cache.end()) {
    NamedTensors shapes;
    {
      Sam model = build_sam(at_input_size(preset_config, size));
      for (const auto& [k, t] : module_tensors(*model))
        shapes.emplace_back(k, torch::zeros({1}, t.options()).expand(t.sizes()));
    }
    it = cache.emplace(key, std::move(shapes)).first;
  }
  return it->second;
}

}  // namespace medsam
