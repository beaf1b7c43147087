// torch.save files (.pth / .pt) without Python: a restricted reader that yields a value tree
// (state dicts, {"model", "optimizer", "epoch"} training checkpoints) and a writer whose output
// Python's torch.load reads back as a dict of tensors. See docs/checkpoints.md for the format,
// the global whitelist and the safety stance.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "medsam/io/pickle_value.h"

namespace medsam {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// ref: torch/serialization.py _load (zip format, PyTorch >= 1.6). Tensors are CPU tensors with the
// saved size, stride and storage offset; tensors that shared a storage share one here. Throws
// Error naming the file and the fault: not a zip, legacy (pre-1.6) or TorchScript archive,
// big-endian data, a global outside the whitelist, a malformed pickle, a truncated record.
PickleRef read_pth(const std::string& path);
// The same from bytes in memory (tests, fuzzing); `name` is used in error messages.
PickleRef parse_pth(std::string bytes, const std::string& name);
// read_pth without reading the storages: every tensor is a meta tensor (dtype, size and stride, no
// data), after the same checks (record present and large enough, view inside it). For the small
// values beside the weights (a checkpoint's step, score or saved config) of a file of any size.
PickleRef read_pth_metadata(const std::string& path);

// The (name, tensor) pairs of a dict whose keys are strings and values tensors, in file order.
// Throws Error naming `file` and the first entry that is not a tensor.
NamedTensors tensors_of_dict(const PickleValue& dict, const std::string& file);
// read_pth + tensors_of_dict for files holding a bare state dict.
NamedTensors read_state_dict(const std::string& path);

// Writes a dict {name: tensor} that torch.load returns as a dict of contiguous CPU tensors,
// atomically (PATH.tmp.<pid> then rename). Views are written compactly (their own storage).
void write_pth(const std::string& path, const NamedTensors& tensors);
// Writes a whole value tree, e.g. a training checkpoint {"model": {...}, "optimizer": {...},
// "epoch": 3}: None, bool, int, float, str, list, tuple, tensor, and dicts whose keys are all str
// or all int. torch.load returns the same structure (dict, list, tuple); read_pth reads it back.
// Throws Error for bytes, storages, globals and mixed-key dicts.
void write_pth(const std::string& path, const PickleValue& value);

}  // namespace medsam
