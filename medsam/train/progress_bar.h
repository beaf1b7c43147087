// A one-line progress bar redrawn in place on a terminal (stderr):
//   [##########..........]  120/200  loss 0.4312  lr 1.0e-04  6.1 samples/s  ETA 13s
// Only when stderr is a terminal (or asked for); in files and pipes the trainer prints plain log lines.
#pragma once

#include <string>

namespace medsam::train {

// true when stderr is a terminal (isatty).
bool stderr_is_terminal();

// The bar's text for `done` of `total` (total <= 0: no bar, just the count); `width` characters of bar.
std::string progress_bar_text(long long done, long long total, const std::string& tail, int width = 24);

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar();
  bool enabled() const { return enabled_; }
  // Redraws the line (carriage return + erase to end of line + text), no newline.
  void draw(long long done, long long total, const std::string& tail);
  // Erases the drawn line so that a log line can take its place.
  void clear();

 private:
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace medsam::train
