// `medsam`: parse, run one subcommand, map failures to exit codes (2 usage, 1 runtime).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>
#include <map>
#include <thread>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/core/thread_env.h"
#include "medsam/core/version.h"
#include "tools/cli_checks.h"
#include "tools/command.h"

namespace {

constexpr int kMaxThreads = 4096;  // --threads above this is a typo, not a machine

int usage_error(const std::string& message) {
  fmt::print(stderr, "medsam: {}\nRun 'medsam --help' (or 'medsam <command> --help') for usage.\n", message);
  return 2;
}

std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "(unset)";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace medsam;
  reexec_with_thread_env(argv);  // before anything else: the thread pools read it when loaded
  tune_malloc_for_tensors();
  CLI::App app{"MedSAM: segment anything in medical images (train, fine-tune, serve)", "medsam"};
  app.require_subcommand(1, 1);
  app.set_version_flag("--version", version_string());

  std::string log_level = "info";
  int threads = 0;
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  // Capped: LibTorch starts a pool thread per unit asked for (100000 made ~30000 threads before failing).
  app.add_option("--threads", threads, "CPU threads for LibTorch (default: all cores; at most 4096)")
      ->check(tools::in_range(0, kMaxThreads, "0: all cores"));

  std::map<const CLI::App*, tools::RunFn> runs;
  auto add = [&](tools::RunFn (*adder)(CLI::App&)) {
    auto run = adder(app);
    auto after = app.get_subcommands({});
    runs[after.back()] = std::move(run);
  };
  add(tools::add_infer_command);
  add(tools::add_prep_command);
  add(tools::add_train_command);
  add(tools::add_eval_command);
  add(tools::add_export_command);
  add(tools::add_info_command);
  add(tools::add_launch_command);
  add(tools::add_bench_command);
  add(tools::add_report_command);
  add(tools::add_serve_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a mistyped command as "a subcommand is required"; name the word instead.
    const auto extra = app.remaining();
    if (app.get_subcommands().empty() && !extra.empty() && extra.front().rfind('-', 0) != 0) {
      std::string known;
      for (const auto* sub : app.get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
      return usage_error(fmt::format("unknown command '{}' (commands: {})", extra.front(), known));
    }
    return usage_error(e.what());
  }

  try {
    set_log_level(parse_log_level(log_level));
    log_debug("thread pools: OMP_WAIT_POLICY={} OPENBLAS_THREAD_TIMEOUT={}", env_or_unset("OMP_WAIT_POLICY"),
              env_or_unset("OPENBLAS_THREAD_TIMEOUT"));
    // LibTorch defaults to 1 thread on small machines; use every core unless told otherwise.
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(n);
    const auto chosen = app.get_subcommands();
    return runs.at(chosen.front())();
  } catch (const UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "medsam: error: {}\n", e.what());
    return 1;
  }
}
