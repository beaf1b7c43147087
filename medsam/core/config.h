// The root configuration: every section a `medsam` command can read from YAML or `--set`.
// Loading order: built-in defaults -> YAML files in order -> `--set key=value` overrides.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "medsam/core/config_data.h"
#include "medsam/core/config_model.h"
#include "medsam/core/config_train.h"

namespace medsam {

struct Config {
  ModelConfig model;
  TrainConfig train;
  data::DataConfig data;

  void visit(ConfigVisitor& v);
  // Every section's range checks (ConfigValueError naming the keys).
  void validate() const;
};

// Generic form for any config root (a struct with visit()): dataset descriptions, prep configs, ...
using VisitRoot = std::function<void(ConfigVisitor&)>;
// Where each dotted setting was last given: "file.yaml:12" or "--set key=value" (filled when passed).
using ConfigOrigins = std::map<std::string, std::string>;
void load_yaml_file(const std::string& path, const VisitRoot& root, ConfigOrigins* origins = nullptr);
void apply_yaml_override(const std::string& assignment, const VisitRoot& root, ConfigOrigins* origins = nullptr);
std::string to_yaml(const VisitRoot& root);

template <class Root>
VisitRoot visit_root(Root& r) {
  return [&r](ConfigVisitor& v) { r.visit(v); };
}

// Reads a YAML file into `config`, keeping defaults for absent keys. Unknown keys and values of the
// wrong type throw ConfigError naming the file, line and dotted key.
void load_config_file(const std::string& path, Config& config);

// load_config_file for YAML held in memory (the config a checkpoint carries); `source` names it in errors.
void load_config_text(const std::string& yaml, const std::string& source, Config& config);

// Applies one `dotted.key=value` override (the value is parsed as YAML: 3, 1e-4, true, [2,5], text).
void apply_config_override(const std::string& assignment, Config& config);

// Defaults, then each file, then each override; validated. A value out of range is reported with where it
// was set ("run.yaml:7: config: train.optimizer.lr must be > 0, got -1").
Config resolve_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                      Config defaults = {});

// The resolved config as YAML (what `--dump-config` prints and what is saved beside checkpoints).
std::string config_to_yaml(Config& config);

// "dotted.key: before -> after" for each setting whose value differs between two configs' YAML (keys in
// only one of them included), sorted by key. Throws ConfigError when either is not YAML.
std::vector<std::string> config_differences(const std::string& before_yaml, const std::string& after_yaml);

}  // namespace medsam
