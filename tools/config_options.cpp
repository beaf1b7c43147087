#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "medsam/core/config.h"
#include "medsam/model/presets.h"
#include "tools/command.h"

namespace medsam::tools {

void ConfigOptions::add_to(CLI::App& sub) {
  arch_option = sub.add_option("--arch", arch, "model preset the config starts from: tiny, vit_b, vit_l, vit_h "
                                               "(or model.arch in a --config file)")
                    ->capture_default_str();
  sub.add_option("--config", files, "YAML config file (repeatable; later files override earlier ones)")
      ->check(CLI::ExistingFile);
  sub.add_option("--set", overrides, "override one setting, e.g. --set model.image_encoder.depth=4 (repeatable)");
  sub.add_flag("--dump-config", dump, "print the resolved config as YAML and exit");
}

Config ConfigOptions::resolve() const {
  Config defaults;
  defaults.model = model_preset(arch);
  Config config = resolve_config(files, overrides, defaults);
  if (config.model.arch == defaults.model.arch) return config;
  // model.arch set in a file or by --set: the preset the other model keys start from, as --arch is (a
  // file saying only `model: {arch: tiny}` would otherwise get ViT-B's sizes under the name tiny).
  if (arch_option && arch_option->count() > 0)
    throw ConfigError(fmt::format("--arch {} and model.arch {} (in --config/--set) disagree: give one of them",
                                  arch, config.model.arch));
  const auto names = model_preset_names();
  if (std::find(names.begin(), names.end(), config.model.arch) == names.end())
    throw ConfigError(fmt::format("model.arch '{}' is not a model preset ({}); to change sizes, keep a preset's name and "
                                  "set model.image_encoder.* etc.",
                                  config.model.arch, fmt::join(names, ", ")));
  Config from_named;
  from_named.model = model_preset(config.model.arch);
  return resolve_config(files, overrides, from_named);
}

bool ConfigOptions::dump_if_asked(Config& config) const {
  if (!dump) return false;
  fmt::print("{}", config_to_yaml(config));
  return true;
}

}  // namespace medsam::tools
