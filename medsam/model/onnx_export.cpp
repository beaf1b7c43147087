#include "medsam/model/onnx_export.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "medsam/core/error.h"

namespace medsam {

void validate(const OnnxExportOptions& o) {
  if (o.part != "decoder" && o.part != "encoder")
    throw UsageError(fmt::format("--part '{}' is not one of decoder, encoder", o.part));
  if (o.masks != "single" && o.masks != "all")
    throw UsageError(fmt::format("--masks '{}' is not one of single, all", o.masks));
  if (o.postprocess != "medsam" && o.postprocess != "sam")
    throw UsageError(fmt::format("--postprocess '{}' is not one of medsam, sam", o.postprocess));
}

OnnxExportResult export_onnx(Sam& model, const OnnxExportOptions& options, const std::string& path) {
  validate(options);
  torch::NoGradGuard no_grad;
  const onnx::Model m = options.part == "encoder" ? image_encoder_onnx(model) : prompt_decoder_onnx(model, options);
  OnnxExportResult r;
  r.external_data =
      onnx::write_onnx(path, m, options.external_data ? onnx::ExternalData::kAlways : onnx::ExternalData::kAuto);
  r.nodes = m.graph.nodes.size();
  r.initializers = m.graph.initializers.size();
  for (const auto& v : m.graph.inputs) r.inputs.push_back(v.name);
  for (const auto& v : m.graph.outputs) r.outputs.push_back(v.name);
  return r;
}

}  // namespace medsam
