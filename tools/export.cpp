#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "medsam/model/weights_export.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_export_command(CLI::App& app) {
  auto* sub = app.add_subcommand("export", "Write a checkpoint as .pth (loads in PyTorch) or .safetensors");
  auto o = std::make_shared<ExportOptions>();
  sub->add_option("--checkpoint", o->input, "Input checkpoint (.pth state dict or training checkpoint, .safetensors)")
      ->required();
  sub->add_option("--output", o->output, "Output file: OUT.pth or OUT.safetensors")->required();
  sub->add_option("--dtype", o->dtype, "Floating-point dtype of the output")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  sub->add_option("--arch", o->arch, "auto (from the shapes) or tiny|vit_b|vit_l|vit_h")->capture_default_str();
  return [o] {
    const ExportResult r = export_checkpoint(*o);
    fmt::print("wrote {} ({}, {}, {} tensors, {} as {})\n", o->output, r.format, r.arch, r.tensors,
               r.bytes, o->dtype);
    return 0;
  };
}

}  // namespace medsam::tools
