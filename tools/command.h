// How subcommands plug into the `medsam` executable. Each tools/<sub>.cpp defines one add_<sub>_command:
// it declares its options on a CLI11 subcommand and returns the function to run once parsing succeeded.
// A subcommand file parses arguments and calls the library; it holds no algorithm.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}

namespace medsam {
struct Config;
}

namespace medsam::tools {

using RunFn = std::function<int()>;

// Options shared by subcommands that read the YAML config: --config (repeatable), --set (repeatable),
// --arch (model preset the config starts from), --dump-config.
struct ConfigOptions {
  std::vector<std::string> files;
  std::vector<std::string> overrides;
  std::string arch = "vit_b";
  bool dump = false;
  const CLI::Option* arch_option = nullptr;  // set by add_to: was --arch given?

  void add_to(CLI::App& sub);
  // Preset, then files, then overrides; validated. The preset is --arch's, or model.arch's when a file or
  // --set names one (both given and different: an error). Throws ConfigError.
  Config resolve() const;
  // When --dump-config was given: prints the resolved YAML to stdout and returns true.
  bool dump_if_asked(Config& config) const;
};

RunFn add_infer_command(CLI::App& app);
RunFn add_prep_command(CLI::App& app);
RunFn add_train_command(CLI::App& app);
RunFn add_eval_command(CLI::App& app);
RunFn add_export_command(CLI::App& app);
RunFn add_info_command(CLI::App& app);
RunFn add_launch_command(CLI::App& app);
RunFn add_bench_command(CLI::App& app);
RunFn add_report_command(CLI::App& app);
RunFn add_serve_command(CLI::App& app);

}  // namespace medsam::tools
