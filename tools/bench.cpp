// `medsam bench`: the parent command; each kind is a nested subcommand from tools/bench_<kind>.cpp.
#include "tools/bench.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <map>
#include <memory>

#include "medsam/core/log.h"
#include "medsam/core/error.h"
#include "medsam/dist/process_group.h"

namespace medsam::tools {
namespace bench {

std::vector<Kind>& registry() {
  static std::vector<Kind> kinds;
  return kinds;
}

double status_mib(const char* wanted) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == wanted) {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

double peak_rss_mib() { return status_mib("VmHWM:"); }

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::string memory_note(bool cuda, double cuda_peak_mib, double base_mib, const std::string& before,
                        const std::string& work) {
  if (cuda) return fmt::format("peak CUDA allocated {:.0f} MiB", cuda_peak_mib);
  const double peak = peak_rss_mib();
  return fmt::format("peak RSS {:.0f} MiB ({}: {:.0f} MiB, {} adds {:.0f} MiB)", peak, before, base_mib, work,
                     peak - base_mib);
}

std::shared_ptr<dist::ProcessGroup> join_group(const std::string& backend, std::chrono::milliseconds timeout) {
  dist::Rendezvous r = dist::resolve_rendezvous(dist::process_env());
  for (const auto& w : r.warnings) log_warn("{}", w);
  if (!r.distributed()) {
    r.source = dist::LaunchSource::kFlags;
    if (r.master_addr.empty()) r.master_addr = "127.0.0.1";
    if (r.master_port == 0) r.master_port = 29531;
  }
  dist::GroupOptions options;
  options.backend = backend;
  options.backend_for_single = true;
  options.timeout = timeout;
  return dist::ProcessGroup::create(r, options);
}

}  // namespace bench

RunFn add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure speed and memory (results for docs/benchmarks.md)");
  sub->require_subcommand(1, 1);
  auto runs = std::make_shared<std::map<const CLI::App*, RunFn>>();
  for (const auto& kind : bench::registry()) {
    auto* k = sub->add_subcommand(kind.name, kind.description);
    (*runs)[k] = kind.add(*k);
  }
  return [sub, runs]() {
    const auto chosen = sub->get_subcommands();
    if (chosen.empty()) throw UsageError("bench: say what to measure");
    return runs->at(chosen.front())();
  };
}

}  // namespace medsam::tools
