#include "medsam/train/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace medsam::train {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string progress_bar_text(long long done, long long total, const std::string& tail, int width) {
  if (total <= 0) return fmt::format("{}  {}", done, tail);
  const double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
  const int filled = static_cast<int>(fraction * width + 1e-9);
  return fmt::format("[{}{}] {:>{}}/{}  {}", std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(width - filled), '.'), done,
                     static_cast<int>(fmt::format("{}", total).size()), total, tail);
}

ProgressBar::~ProgressBar() {
  if (enabled_ && drawn_) std::fputs("\n", stderr);  // leave the last state visible
}

void ProgressBar::draw(long long done, long long total, const std::string& tail) {
  if (!enabled_) return;
  fmt::print(stderr, "\r\033[K{}", progress_bar_text(done, total, tail));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace medsam::train
