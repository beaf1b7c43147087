#include <CLI/CLI.hpp>

#include "medsam/core/config.h"
#include "medsam/train/train_job.h"
#include "tools/command.h"

namespace medsam::tools {

RunFn add_train_command(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Fine-tune SAM/MedSAM on prepared shards");
  auto options = std::make_shared<ConfigOptions>();
  options->add_to(*sub);
  auto resume = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  sub->add_option("--resume", *resume, "continue from a checkpoint file or an output directory (its newest checkpoint)");
  sub->add_option("--output", *output, "output directory for checkpoints and logs (train.output_dir)");
  return [options, resume, output]() {
    Config config = options->resolve();
    if (!resume->empty()) config.train.resume = *resume;
    if (!output->empty()) config.train.output_dir = *output;
    if (options->dump_if_asked(config)) return 0;
    return train::run_training(config);
  };
}

}  // namespace medsam::tools
