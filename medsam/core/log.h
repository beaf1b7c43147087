// Human-readable logging: one line per event to stderr, rank 0 only unless asked otherwise.
// Structured metrics go to JSONL files (medsam/train), never through here.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace medsam {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Lines from ranks other than 0 are dropped unless all_ranks; every line carries "[rank r]" when
// world_size > 1.
void set_log_rank(int rank, int world_size, bool all_ranks = false);
// Parses debug|info|warn|error; throws UsageError otherwise.
LogLevel parse_log_level(std::string_view name);

void log_line(LogLevel level, std::string_view message);

template <class... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::kDebug) log_line(LogLevel::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::kInfo) log_line(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::kWarn) log_line(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace medsam
