#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <utility>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/file_name.h"
#include "medsam/model/weights_export.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_export_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "export", "Write a checkpoint as .pth (loads in PyTorch) or .safetensors, or the model as an ONNX graph");
  auto o = std::make_shared<ExportOptions>();
  sub->add_option("--checkpoint", o->input, "Input checkpoint (.pth state dict or training checkpoint, .safetensors)")
      ->required();
  sub->add_option("--output", o->output, "Output file: OUT.pth, OUT.safetensors or OUT.onnx")->required();
  sub->add_option("--dtype", o->dtype, "Floating-point dtype of the output")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  sub->add_option("--arch", o->arch, "auto (from the shapes) or tiny|vit_b|vit_l|vit_h")->capture_default_str();
  auto* part = sub->add_option("--part", o->onnx.part, "ONNX: decoder (prompt encoder + mask decoder) or encoder (image encoder)")
      ->check(CLI::IsMember({"decoder", "encoder"}))
      ->capture_default_str();
  auto* masks = sub->add_option("--masks", o->onnx.masks, "ONNX decoder: single (one mask per prompt) or all (every mask token)")
      ->check(CLI::IsMember({"single", "all"}))
      ->capture_default_str();
  auto* postprocess =
      sub->add_option("--postprocess", o->onnx.postprocess,
                      "ONNX decoder: medsam (probabilities, sigmoid then resize) or sam (SamOnnxModel's logits: SAM's "
                      "resize-longest-side + pad geometry, wrong for MedSAM's stretched non-square images)")
          ->check(CLI::IsMember({"medsam", "sam"}))
          ->capture_default_str();
  auto* external_data = sub->add_flag("--external-data", o->onnx.external_data,
                "ONNX: weights in OUT.onnx.data beside the graph (automatic past protobuf's 2 GiB, e.g. vit_h's encoder)");
  return [o, part, masks, postprocess, external_data] {
    // A state dict (.pth, .safetensors) has no graph: the ONNX options given with one would do nothing.
    if (io::has_extension(o->output, {".pth", ".pt", ".safetensors"})) {
      const std::pair<const CLI::Option*, std::string> onnx_only[] = {{part, "--part " + o->onnx.part},
                                                                       {masks, "--masks " + o->onnx.masks},
                                                                       {postprocess, "--postprocess " + o->onnx.postprocess},
                                                                       {external_data, "--external-data"}};
      std::vector<std::string> given;
      for (const auto& [option, text] : onnx_only)
        if (option->count() > 0) given.push_back(text);
      if (!given.empty())
        throw UsageError(fmt::format("{} appl{} to .onnx output only; --output {} writes the weights alone (drop {}, "
                                     "or write OUT.onnx)",
                                     fmt::join(given, ", "), given.size() == 1 ? "ies" : "y", o->output,
                                     given.size() == 1 ? "it" : "them"));
    }
    // The encoder graph has no masks: a decoder option given with it would be silently ignored.
    const std::pair<const CLI::Option*, std::string> decoder_only[] = {{masks, "--masks " + o->onnx.masks},
                                                                         {postprocess, "--postprocess " + o->onnx.postprocess}};
    if (o->onnx.part == "encoder")
      for (const auto& [option, given] : decoder_only)
        if (option->count() > 0)
          throw UsageError(fmt::format("{} shapes the decoder graph; --part encoder exports the image encoder, which "
                                       "has no masks (drop {}, or use --part decoder)",
                                       given, option->get_name()));
    if (o->onnx.part == "decoder" && o->onnx.postprocess == "sam" && io::has_extension(o->output, {".onnx"}))
      log_warn("--postprocess sam: the masks are cropped as SAM's resize-longest-side + pad preprocessing lays the "
               "image out; an image preprocessed as medsam does (stretched to the square input) gets wrong masks "
               "unless it is square (docs/checkpoints.md)");
    const ExportResult r = export_checkpoint(*o);
    fmt::print("wrote {} ({}, {}, {} tensors, {} bytes, {})\n", o->output, r.format, r.arch, r.tensors,
               r.bytes, o->dtype);
    if (r.external_data) fmt::print("weights in {}.data (ONNX external data: keep it beside the .onnx file)\n", o->output);
    return 0;
  };
}

}  // namespace medsam::tools
