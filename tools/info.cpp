#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "medsam/io/file_name.h"
#include "medsam/io/onnx_model.h"
#include "medsam/model/weights_info.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_info_command(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Describe a checkpoint (format, architecture, tensors, parameters) or an ONNX graph");
  auto path = std::make_shared<std::string>();
  sub->add_option("checkpoint", *path, "A .pth (torch.save) or .safetensors file, or an .onnx graph")->required();
  return [path] {
    if (io::has_extension(*path, {".onnx"})) {
      fmt::print("{}", onnx::describe(onnx::read_onnx_info(*path)));
      return 0;
    }
    fmt::print("{}", format_summary(summarize_checkpoint(*path)));
    return 0;
  };
}

}  // namespace medsam::tools
