#include "data_prep/progress.h"

#include "medsam/core/log.h"

namespace medsam::prep {

Progress::Progress(std::string what, std::int64_t total, double interval_s)
    : what_(std::move(what)), total_(total), interval_s_(interval_s), start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(std::int64_t done, const std::string& tail, bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_).count() < interval_s_ && done < total_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
  const int bar_width = 20;
  const int filled = total_ > 0 ? static_cast<int>(bar_width * done / total_) : bar_width;
  log_info("{} [{}{}] {}/{} {:.2f}/s elapsed {:.0f}s ETA {:.0f}s {}", what_, std::string(filled, '#'),
           std::string(bar_width - filled, '.'), done, total_, rate, elapsed, eta, tail);
}

}  // namespace medsam::prep
