#include "tools/bench_profile.h"

#define MEDSAM_COMPAT_PROFILER
#include "medsam/core/torch_compat.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "medsam/core/error.h"
#include "medsam/core/log.h"

namespace medsam::tools::bench {

void profile_once(const std::string& path, bool cuda, const std::function<void()>& run) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  compat::profile_to_chrome_trace(tmp, cuda, run);
  std::error_code ec;
  if (!fs::exists(tmp, ec)) throw Error(fmt::format("--profile: the profiler wrote no trace to {}", tmp));
  fs::rename(tmp, target, ec);
  if (ec) throw Error(fmt::format("--profile: cannot move the trace to {}: {}", path, ec.message()));
  log_info("profile: {} ({:.1f} MB; summary: python3 scripts/gpu/trace_summary.py {})", path,
           static_cast<double>(fs::file_size(target)) / 1e6, path);
}

}  // namespace medsam::tools::bench
