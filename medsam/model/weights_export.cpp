#include "medsam/model/weights_export.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <unordered_map>

#include "medsam/core/error.h"
#include "medsam/core/version.h"
#include "medsam/io/file_name.h"
#include "medsam/io/pth.h"
#include "medsam/io/safetensors.h"
#include "medsam/model/load_sam.h"
#include "medsam/model/presets.h"

namespace medsam {
namespace {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32") return at::kFloat;
  if (name == "fp16") return at::kHalf;
  if (name == "bf16") return at::kBFloat16;
  throw UsageError(fmt::format("--dtype '{}' is not one of fp32, fp16, bf16", name));
}

}  // namespace

ExportResult export_checkpoint(const ExportOptions& o) {
  const c10::ScalarType dtype = parse_dtype(o.dtype);
  ExportResult result;
  if (io::has_extension(o.output, {".pth", ".pt"})) {
    result.format = "pth";
  } else if (io::has_extension(o.output, {".safetensors"})) {
    result.format = "safetensors";
  } else if (io::has_extension(o.output, {".onnx"})) {
    result.format = "onnx";
  } else {
    throw UsageError(fmt::format("--output {}: the extension must be .pth, .pt, .safetensors or .onnx", o.output));
  }
  if (o.arch != "auto") model_preset(o.arch);  // UsageError for unknown presets
  if (result.format == "onnx") {
    validate(o.onnx);
    // The graphs compute in fp32 (what ONNX runtimes expect of a float graph); converting them is the runtime's job.
    if (dtype != at::kFloat) throw UsageError(fmt::format("--dtype {}: ONNX export writes fp32 graphs only", o.dtype));
    LoadedSam loaded = load_sam(o.input, o.arch);
    loaded.model->eval();
    const OnnxExportResult r = export_onnx(loaded.model, o.onnx, o.output);
    result.arch = loaded.model->config.arch;
    result.tensors = r.initializers;
    result.external_data = r.external_data;
    result.bytes = std::filesystem::file_size(o.output) + (r.external_data ? std::filesystem::file_size(o.output + ".data") : 0);
    return result;
  }

  const Checkpoint ck = read_checkpoint(o.input);
  // auto: the preset's layout at the checkpoint's own input size (a 512² fine-tune, say).
  const ModelConfig config = o.arch == "auto" ? config_from_checkpoint(ck.tensors, o.input) : model_preset(o.arch);
  result.arch = config.arch;
  const NamedTensors expected = expected_state_dict(config.arch, config.image_encoder.img_size);
  const WeightsReport report = compare_weights(expected, ck);
  if (!report.exact()) throw Error(report.describe());

  // Model order (segment_anything's state_dict order); floating tensors converted, all contiguous.
  std::unordered_map<std::string, const at::Tensor*> by_name;
  for (const auto& [k, t] : ck.tensors) by_name.emplace(k, &t);
  NamedTensors out;
  out.reserve(expected.size());
  for (const auto& [k, model_tensor] : expected) {
    at::Tensor t = *by_name.at(k);
    if (t.is_floating_point()) t = t.to(dtype);
    t = t.contiguous();
    result.bytes += uint64_t(t.numel()) * t.element_size();
    out.emplace_back(k, std::move(t));
  }
  result.tensors = out.size();
  if (result.format == "pth") {
    write_pth(o.output, out);
  } else {
    write_safetensors(o.output, out,
                      {{"format", "pt"}, {"arch", result.arch}, {"producer", "medsam " + version_string()}});
  }
  return result;
}

}  // namespace medsam
