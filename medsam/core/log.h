// Human-readable logging: one line per event to stderr, rank 0 only unless asked otherwise.
// Structured metrics go to JSONL files (medsam/train), never through here.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace medsam {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Lines from ranks other than 0 are dropped unless all_ranks (errors and log_rank_warn lines excepted);
// every line carries "rank r" when world_size > 1.
void set_log_rank(int rank, int world_size, bool all_ranks = false);
// Parses debug|info|warn|error; throws UsageError otherwise.
LogLevel parse_log_level(std::string_view name);

// every_rank: shown from every rank, not only rank 0 (see log_rank_warn).
void log_line(LogLevel level, std::string_view message, bool every_rank = false);

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
// A warning about something only this rank saw (a corrupt sample it read, its data running out): shown
// from every rank, since rank 0 cannot know it. Warnings every rank computes alike (config, rendezvous)
// stay with log_warn, so a 32-rank job prints them once.
template <class... Args>
void log_rank_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::kWarn)
    log_line(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...), /*every_rank=*/true);
}
template <class... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace medsam
