#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>

#include "medsam/core/config.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/model/presets.h"
#include "medsam/train/checkpoint.h"
#include "medsam/train/output_folder.h"
#include "medsam/train/train_job.h"
#include "tools/command.h"

namespace medsam::tools {
namespace {

bool overrides_set(const std::vector<std::string>& overrides, const std::string& key) {
  return std::any_of(overrides.begin(), overrides.end(),
                     [&](const std::string& o) { return o.rfind(key + "=", 0) == 0; });
}

// Settings a resume is expected to change (where it goes, how long it runs): not worth a warning.
bool is_run_control(const std::string& difference) {
  for (const char* key : {"train.resume:", "train.output_dir:", "train.max_steps:", "train.epochs:", "train.init_checkpoint:"})
    if (difference.rfind(key, 0) == 0) return true;
  return false;
}

// `--resume PATH`: the run it continues is configured as it was. Without --config its config.yaml (saved
// beside its checkpoints) is the base, --set on top; checkpoints go on into its folder unless --output or
// --set train.output_dir says otherwise; and settings that differ from the run's are listed.
Config resolve_for_resume(const ConfigOptions& options, const std::string& resume, const std::string& output) {
  const std::string folder = train::run_folder_of(resume);
  const std::string stored = folder + "/config.yaml";
  const bool have_stored = static_cast<bool>(std::ifstream(stored));
  ConfigOptions effective = options;
  std::string file, embedded;  // a checkpoint copied without its folder still carries the run's settings
  if (have_stored && options.files.empty()) {
    effective.files = {stored};
    log_info("resuming with the run's own settings, {} (--set on top; --config to give others)", stored);
  } else if (!have_stored && options.files.empty()) {
    file = train::resolve_resume_path(resume);
    embedded = train::checkpoint_config_yaml(file);
    if (embedded.empty())
      log_warn("--resume {}: no config.yaml in {} and none saved in {}: the settings are this command's, not the "
               "run's", resume, folder, file);
    else
      log_info("resuming with the settings saved in {} (no config.yaml in {}; --set on top)", file, folder);
  } else if (!have_stored) {
    log_warn("--resume {}: no config.yaml in {}: the settings are this command's, not the run's", resume, folder);
  }
  Config config;
  if (embedded.empty()) {
    config = effective.resolve();
  } else {
    Config base;
    base.model = model_preset(options.arch);
    load_config_text(embedded, file + " (its saved config)", base);
    config = resolve_config({}, options.overrides, base);
  }
  config.train.resume = resume;
  if (output.empty() && !overrides_set(options.overrides, "train.output_dir") && config.train.output_dir != folder) {
    log_info("checkpoints go on into the resumed run's folder {} (train.output_dir {} not used; --output to "
             "choose another)", folder, config.train.output_dir);
    config.train.output_dir = folder;
  }
  if (have_stored) {
    Config run_config;  // as the run saved it, emitted the same way as this one (config_to_yaml)
    load_config_file(stored, run_config);
    std::vector<std::string> changed = config_differences(config_to_yaml(run_config), config_to_yaml(config));
    changed.erase(std::remove_if(changed.begin(), changed.end(), is_run_control), changed.end());
    if (!changed.empty())
      log_warn("resuming with {} setting(s) other than the run's ({}): {}", changed.size(), stored,
               fmt::join(changed, "; "));
  }
  return config;
}

}  // namespace

RunFn add_train_command(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Fine-tune SAM/MedSAM on prepared shards");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  auto resume = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  CLI::Option* resume_option =
      sub->add_option("--resume", *resume,
                      "continue a run from a checkpoint file or its output directory (its newest checkpoint), with "
                      "the run's own config.yaml unless --config is given, into the same directory unless --output "
                      "is. Without a value: the output directory's newest checkpoint if it has one, else a fresh "
                      "start (a requeued cluster job)")
          ->expected(0, 1);
  sub->add_option("--output", *output, "output directory for checkpoints and logs (train.output_dir)");
  auto stop_exit_code = std::make_shared<int>(kExitStopped);
  sub->add_option("--stop-exit-code", *stop_exit_code,
                  "exit code after a stop signal (SIGTERM, SIGINT, SIGUSR1, ...) once the checkpoint is written: "
                  "75 (EX_TEMPFAIL, resume to continue) unless set; 0 treats a stop as completion")
      ->check(CLI::Range(0, 255))
      ->capture_default_str();
  return [options, resume, output, resume_option, stop_exit_code]() {
    std::string from = *resume;
    if (resume_option->count() > 0 && from.empty()) {  // --resume alone
      Config fresh = options->resolve();
      const std::string dir = output->empty() ? fresh.train.output_dir : *output;
      if (train::list_checkpoints(dir).empty())
        log_info("--resume: no checkpoint in {} yet, starting fresh", dir);
      else
        from = dir;
    }
    Config config = from.empty() ? options->resolve() : resolve_for_resume(*options, from, *output);
    if (!output->empty()) config.train.output_dir = *output;
    if (options->dump_if_asked(config)) return 0;
    const int code = train::run_training(config);
    return code == kExitStopped ? *stop_exit_code : code;
  };
}

}  // namespace medsam::tools
