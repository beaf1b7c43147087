#include "medsam/core/memory_available.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace medsam {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> parse_u64(const std::string& text) {
  std::istringstream in(text);
  std::uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

// The cgroup v2 folder of this process ("0::/slurm/uid_1/job_42/step_0" in /proc/self/cgroup).
std::string cgroup_v2_dir() {
  std::istringstream in(read_text("/proc/self/cgroup"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  return {};
}

}  // namespace

std::optional<std::uint64_t> parse_mem_available(const std::string& meminfo) {
  const auto at = meminfo.find("MemAvailable:");
  if (at == std::string::npos) return std::nullopt;
  const auto kb = parse_u64(meminfo.substr(at + 13));
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

std::optional<std::uint64_t> cgroup_room(const std::string& limit_text, const std::string& usage_text) {
  const auto limit = parse_u64(limit_text);  // "max" does not parse: no limit
  // cgroup v1 writes "no limit" as a page-rounded LONG_MAX.
  if (!limit || *limit >= (std::uint64_t{1} << 62)) return std::nullopt;
  const std::uint64_t usage = parse_u64(usage_text).value_or(0);
  return *limit > usage ? *limit - usage : 0;
}

std::optional<std::uint64_t> available_memory_bytes() {
  std::optional<std::uint64_t> room = parse_mem_available(read_text("/proc/meminfo"));
  std::optional<std::uint64_t> limited;
  if (const std::string dir = cgroup_v2_dir(); !dir.empty())
    limited = cgroup_room(read_text(dir + "/memory.max"), read_text(dir + "/memory.current"));
  if (!limited)
    limited = cgroup_room(read_text("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                          read_text("/sys/fs/cgroup/memory/memory.usage_in_bytes"));
  if (room && limited) return std::min(*room, *limited);
  return room ? room : limited;
}

}  // namespace medsam
