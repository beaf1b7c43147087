// The trainer's structured outputs (rank 0): one JSON object per step and per validation in
// OUTPUT/metrics.jsonl, the same numbers as CSV (OUTPUT/metrics.csv, OUTPUT/val_metrics.csv), and
// TensorBoard scalars (OUTPUT/tensorboard/). Files are appended to, so a resumed run continues them
// (steps between the last checkpoint and a crash then appear twice; the later lines win). A partial last
// line left by a killed process is cut off before the first append.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "medsam/core/config_train.h"

namespace medsam::train {

class TensorBoardWriter;
struct ValidationSummary;

struct StepMetrics {
  int64_t step = 0, epoch = 0, prompts = 0;
  double loss = 0, dice_loss = 0, bce_loss = 0, lr = 0, grad_norm = 0, step_seconds = 0;
  bool skipped = false;
};

class MetricsLog {
 public:
  // Writes nothing when !enabled (ranks other than 0). Creates the files lazily on first use.
  MetricsLog(std::string output_dir, TrainLogConfig config, bool enabled);
  ~MetricsLog();

  // The step this run starts from (0, or the resumed checkpoint's): the event file this run opens begins
  // with a TensorBoard session start at step + 1, which hides what a killed earlier run logged after
  // its last checkpoint (those steps are trained again).
  void set_start_step(int64_t step) { start_step_ = step; }
  void add_step(const StepMetrics& m);
  // `best`: this validation produced a new best.pth.
  void add_validation(int64_t step, const ValidationSummary& v, bool best);

 private:
  void append(const std::string& file, const std::string& header, const std::string& line);
  void tensorboard(int64_t step, const std::vector<std::pair<std::string, float>>& scalars);

  std::string dir_;
  TrainLogConfig config_;
  bool enabled_;
  std::unique_ptr<TensorBoardWriter> tb_;
  bool tb_failed_ = false;
  int64_t start_step_ = 0;
  std::set<std::string> checked_;  // files whose partial last line (a killed run's) has been looked for
};

}  // namespace medsam::train
