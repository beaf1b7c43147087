// `medsam bench <kind>`: every kind lives in its own tools/bench_<kind>.cpp and registers itself with
// MEDSAM_BENCH_KIND below, so adding a benchmark touches no other file. Results go to stdout as one
// line a person can paste into docs/benchmarks.md (with the command and the machine).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/command.h"

namespace CLI {
class App;
}
namespace medsam::dist {
class ProcessGroup;
}

namespace medsam::tools::bench {

// Adds the kind's options to `sub` (already named and described) and returns its run function.
using AddKindFn = RunFn (*)(CLI::App& sub);

struct Kind {
  const char* name;
  const char* description;
  AddKindFn add;
};

std::vector<Kind>& registry();

struct Registrar {
  Registrar(const char* name, const char* description, AddKindFn add) {
    registry().push_back({name, description, add});
  }
};

// Linux: a memory line of /proc/self/status ("VmRSS:", "VmHWM:", ...) in MiB, -1 when absent.
double status_mib(const char* key);
// Peak resident set size (VmHWM) in MiB; reset_peak_rss() restarts it from the current RSS.
double peak_rss_mib();
void reset_peak_rss();

// The memory line of a bench result: "peak CUDA allocated N MiB" on a CUDA device, else
// "peak RSS N MiB (<before> M MiB, <work> adds K MiB)" with the RSS `base_mib` taken before the timed work,
// e.g. before = "model built", work = "training".
std::string memory_note(bool cuda, double cuda_peak_mib, double base_mib, const std::string& before,
                        const std::string& work);

// A process group for benches that measure collectives: the launcher's world (torchrun, `medsam
// launch`, Slurm variables), or else a world of one on 127.0.0.1 that still creates the backend, so a
// single GPU exercises NCCL. backend: "gloo" or "nccl".
std::shared_ptr<dist::ProcessGroup> join_group(const std::string& backend, std::chrono::milliseconds timeout);

// Runs fn `warmup` times untimed, then `iters` times timed; returns {mean, min} seconds.
template <class Fn>
std::pair<double, double> time_runs(int warmup, int iters, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  double total = 0, best = 1e30;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s;
    best = std::min(best, s);
  }
  return {total / iters, best};
}

// The median of a bench's timed runs (the upper one of an even count).
inline double median_of(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

}  // namespace medsam::tools::bench

#define MEDSAM_BENCH_CONCAT_(a, b) a##b
#define MEDSAM_BENCH_CONCAT(a, b) MEDSAM_BENCH_CONCAT_(a, b)
// Usage at namespace scope in tools/bench_<kind>.cpp:
//   MEDSAM_BENCH_KIND("encoder", "seconds per 1024^2 image and peak memory", add_encoder_bench);
#define MEDSAM_BENCH_KIND(name, description, add_fn) \
  static const ::medsam::tools::bench::Registrar MEDSAM_BENCH_CONCAT(medsam_bench_kind_, __LINE__){name, description, add_fn}
