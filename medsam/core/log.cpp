#include "medsam/core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "medsam/core/error.h"

namespace medsam {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_rank{0};
std::atomic<int> g_world{1};
std::atomic<bool> g_all_ranks{false};
std::mutex g_mutex;
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void set_log_rank(int rank, int world_size, bool all_ranks) {
  g_rank = rank;
  g_world = world_size;
  g_all_ranks = all_ranks;
}

LogLevel parse_log_level(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (name == kNames[i]) return static_cast<LogLevel>(i);
  throw UsageError(fmt::format("unknown log level '{}' (use debug, info, warn or error)", name));
}

void log_line(LogLevel level, std::string_view message, bool every_rank) {
  // Errors are shown from every rank: a failure on rank 3 must not vanish.
  if (g_rank != 0 && !g_all_ranks && !every_rank && level != LogLevel::kError) return;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_world > 1)
    fmt::print(stderr, "[{} {} rank {}] {}\n", stamp, kNames[static_cast<int>(level)], g_rank.load(), message);
  else
    fmt::print(stderr, "[{} {}] {}\n", stamp, kNames[static_cast<int>(level)], message);
}

}  // namespace medsam
