// A progress line for long prep runs: done/total, rate, ETA; at most one line every `interval_s`
// (plain log lines, so it reads the same in a terminal, a pipe or a CI log).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace medsam::prep {

class Progress {
 public:
  Progress(std::string what, std::int64_t total, double interval_s = 2.0);
  // Reports `done` units finished (plus a free-form tail such as "1234 slices").
  void update(std::int64_t done, const std::string& tail, bool force = false);

 private:
  std::string what_;
  std::int64_t total_;
  double interval_s_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace medsam::prep
