#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "medsam/core/config.h"
#include "medsam/model/presets.h"
#include "tools/command.h"

namespace medsam::tools {

void ConfigOptions::add_to(CLI::App& sub) {
  sub.add_option("--arch", arch, "model preset the config starts from: tiny, vit_b, vit_l, vit_h")
      ->capture_default_str();
  sub.add_option("--config", files, "YAML config file (repeatable; later files override earlier ones)")
      ->check(CLI::ExistingFile);
  sub.add_option("--set", overrides, "override one setting, e.g. --set model.image_encoder.depth=4 (repeatable)");
  sub.add_flag("--dump-config", dump, "print the resolved config as YAML and exit");
}

Config ConfigOptions::resolve() const {
  Config defaults;
  defaults.model = model_preset(arch);
  return resolve_config(files, overrides, defaults);
}

bool ConfigOptions::dump_if_asked(Config& config) const {
  if (!dump) return false;
  fmt::print("{}", config_to_yaml(config));
  return true;
}

}  // namespace medsam::tools
