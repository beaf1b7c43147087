// Checkpoints, model-facing half: read a .pth or .safetensors file, unwrap training wrappers
// ({"model": ...}) and DDP's "module." prefix, tell the architecture from the shapes, and copy the
// tensors into a module with one readable report of what did not fit. File formats live in
// medsam/io (pth.h, safetensors.h); this file knows SAM's names and presets.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "medsam/core/config_model.h"
#include "medsam/io/pickle_value.h"

namespace torch::nn {
class Module;
}

namespace medsam {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// A checkpoint file's tensors, unwrapped to SAM's state_dict names.
struct Checkpoint {
  std::string path;
  std::string format;           // "pth" (torch.save zip) or "safetensors"
  std::string wrapper;          // "" for a bare state dict, else the key it sat under ("model", "state_dict")
  std::string stripped_prefix;  // "module." when every key carried it (DDP), "module._orig_mod." (DDP + compile), else ""
  NamedTensors tensors;
  PickleRef root;                                            // pth: the whole value tree (epoch, optimizer, ...)
  std::vector<std::pair<std::string, std::string>> metadata;  // safetensors: __metadata__
};

// Reads a .pth (zip torch.save) or .safetensors file, detected by content. Throws Error naming the
// file when it holds no state dict.
Checkpoint read_checkpoint(const std::string& path);

struct ShapeMismatch {
  std::string key;
  std::vector<int64_t> checkpoint_shape;
  std::vector<int64_t> model_shape;
};

struct WeightsReport {
  std::string path;
  std::string format;
  std::string wrapper;
  std::string stripped_prefix;
  size_t loaded = 0;                     // tensors copied into the model
  std::vector<std::string> missing;      // in the model, not in the checkpoint
  std::vector<std::string> unexpected;   // in the checkpoint, not in the model
  std::vector<ShapeMismatch> mismatched;
  std::string arch_guess;                // guess_arch of the checkpoint ("" if unknown)
  std::vector<std::string> resized;      // tensors resized to the model's input size (resolution.h)

  bool exact() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // One line: "checkpoint P: key K has shape [..], model expects [..] (is this a vit_l checkpoint? try
  // --arch auto)", or counts with the first few keys of each kind when several things are wrong.
  std::string describe() const;
};

// Copies the checkpoint's tensors into model.named_parameters() and named_buffers() (no autograd,
// converting dtype to the model's). A checkpoint of another input size than the model's has its
// position embedding and global rel-pos tables resized first (resize_to_model_resolution; logged and
// listed in `resized`). A shape mismatch always throws Error with describe() and copies nothing (as
// PyTorch's load_state_dict raises "size mismatch" whatever `strict` says); strict: a missing or
// unexpected key does too, otherwise the matching tensors are copied and the report lists the rest.
WeightsReport load_weights(torch::nn::Module& model, const std::string& path, bool strict = true);
WeightsReport load_weights(torch::nn::Module& model, const Checkpoint& checkpoint, bool strict = true);

// The module's tensors under their state_dict names, in state_dict order (own parameters, own buffers,
// then each child). Views of the live tensors: detach/copy before saving.
NamedTensors module_tensors(const torch::nn::Module& model);

// Compares names and shapes without copying (what `medsam info` and `export` check).
WeightsReport compare_weights(const NamedTensors& model_tensors, const Checkpoint& checkpoint);

// Preset name ("tiny", "vit_b", "vit_l", "vit_h") whose encoder width, depth, output channels and
// input size match the checkpoint's shapes, or "" when none does. any_input_size: the input size
// (pos_embed grid x patch) may differ from the preset's.
std::string guess_arch(const NamedTensors& tensors, bool any_input_size = false);
// The checkpoint's input size (pos_embed grid x patch size), 0 when it has no pos_embed.
int checkpoint_input_size(const NamedTensors& tensors);
// model_preset(guess_arch(tensors)), at the checkpoint's own input size when that differs from the
// preset's (a model fine-tuned at 512²); throws Error naming the file and the shapes seen when unknown.
ModelConfig config_from_checkpoint(const NamedTensors& tensors, const std::string& path);

// The state_dict names, shapes and dtypes of build_sam(preset) (at input_size x input_size when > 0,
// else at the preset's own size),
// in model order: the key set a checkpoint must match. Values are zero-stride placeholders (no
// memory); computed once per preset and size.
NamedTensors expected_state_dict(const std::string& preset, int input_size = 0);

}  // namespace medsam
