// `medsam export`: a checkpoint in any supported form -> a clean state dict file for deployment.
#pragma once

#include <string>

#include "medsam/model/onnx_export.h"
#include "medsam/model/weights.h"

namespace medsam {

struct ExportOptions {
  std::string input;
  std::string output;        // *.pth, *.safetensors or *.onnx
  std::string dtype = "fp32";  // fp32 | fp16 | bf16 (floating tensors only; integer buffers keep theirs)
  std::string arch = "auto";   // auto | a preset name
  OnnxExportOptions onnx;      // *.onnx only: which graph, how many masks, which post-processing
};

struct ExportResult {
  std::string arch;
  std::string format;  // "pth", "safetensors" or "onnx"
  size_t tensors = 0;
  uint64_t bytes = 0;  // tensor data written (onnx: the file's size, with its .data file)
  bool external_data = false;  // onnx: the weights are in OUTPUT.data
};

// Unwraps and strips prefixes, checks names and shapes strictly against the arch's state dict
// (Error with WeightsReport::describe() otherwise), converts dtype, orders keys as the model
// does, and writes atomically: .pth loads with torch.load + load_state_dict(strict=True) into
// segment_anything's sam_model_registry[arch]; .safetensors carries __metadata__ {format: pt,
// arch, producer}; .onnx holds options.onnx.part's graph (export_onnx; fp32 only). Bad options (dtype,
// extension, arch, ONNX choices) throw UsageError.
ExportResult export_checkpoint(const ExportOptions& options);

}  // namespace medsam
