#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "medsam/model/weights_info.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_info_command(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Describe a checkpoint: format, architecture, tensors, parameters");
  auto path = std::make_shared<std::string>();
  sub->add_option("checkpoint", *path, "A .pth (torch.save) or .safetensors file")->required();
  return [path] {
    fmt::print("{}", format_summary(summarize_checkpoint(*path)));
    return 0;
  };
}

}  // namespace medsam::tools
