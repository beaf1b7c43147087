#include "medsam/train/metrics_log.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "medsam/core/csv.h"
#include "medsam/core/log.h"
#include "medsam/train/tensorboard_writer.h"
#include "medsam/train/validation.h"

namespace medsam::train {

namespace fs = std::filesystem;

namespace {

// JSON has no NaN: null, as Python's json module would be asked to write it.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "nan"; }

// A process killed mid-append (or a power loss, which can leave NUL bytes) ends the file inside a line; the
// next line appended would be glued to it and make the whole JSONL/CSV unreadable to pandas. Cuts the file
// back to just after its last newline and returns the bytes cut.
uint64_t cut_partial_last_line(const fs::path& path) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec || size == 0) return 0;
  std::ifstream in(path, std::ios::binary);
  uint64_t end = size;  // the file's bytes [0, end) are still to search, from the back
  std::string chunk;
  while (end > 0) {
    const uint64_t n = std::min<uint64_t>(end, 1 << 16);
    chunk.resize(n);
    in.seekg(static_cast<std::streamoff>(end - n));
    if (!in.read(chunk.data(), static_cast<std::streamsize>(n))) return 0;  // unreadable: leave it alone
    const auto newline = chunk.rfind('\n');
    if (newline != std::string::npos) {
      end = end - n + newline + 1;
      break;
    }
    end -= n;
  }
  if (end == size) return 0;
  in.close();
  fs::resize_file(path, end, ec);
  if (ec) {
    log_warn("{} ends in a partial line that could not be cut: {}", path.string(), ec.message());
    return 0;
  }
  return size - end;
}


}  // namespace

MetricsLog::MetricsLog(std::string output_dir, TrainLogConfig config, bool enabled)
    : dir_(std::move(output_dir)), config_(std::move(config)), enabled_(enabled) {}

MetricsLog::~MetricsLog() = default;

void MetricsLog::append(const std::string& file, const std::string& header, const std::string& line) {
  const fs::path path = fs::path(dir_) / file;
  if (checked_.insert(file).second)
    if (const uint64_t cut = cut_partial_last_line(path))
      log_warn("{} ended in a partial line ({} bytes, from a run that was killed while writing it): cut off",
               path.string(), cut);
  std::error_code ec;
  const bool fresh = !fs::exists(path, ec) || fs::file_size(path, ec) == 0;
  std::ofstream out(path, std::ios::app);
  if (fresh && !header.empty()) out << header;
  out << line;
  if (!out.good()) log_warn("could not append to {}", path.string());
}

void MetricsLog::tensorboard(int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  if (!config_.tensorboard || tb_failed_) return;
  try {
    if (!tb_) {
      tb_ = std::make_unique<TensorBoardWriter>((fs::path(dir_) / "tensorboard").string());
      tb_->add_session_start(start_step_ + 1);
    }
    tb_->add_scalars(step, scalars);
  } catch (const std::exception& e) {
    // Curves are a convenience: a failing event file must not end a long run.
    tb_failed_ = true;
    log_warn("TensorBoard events disabled: {}", e.what());
  }
}

void MetricsLog::add_step(const StepMetrics& m) {
  if (!enabled_) return;
  nlohmann::ordered_json j;
  j["step"] = m.step;
  j["epoch"] = m.epoch;
  j["loss"] = number(m.loss);
  j["dice_loss"] = number(m.dice_loss);
  j["bce_loss"] = number(m.bce_loss);
  j["lr"] = number(m.lr);
  j["grad_norm"] = number(m.grad_norm);
  j["prompts"] = m.prompts;
  j["step_seconds"] = number(m.step_seconds);
  j["skipped"] = m.skipped;
  append("metrics.jsonl", "", j.dump() + "\n");
  if (config_.csv)
    append("metrics.csv", "step,epoch,loss,dice_loss,bce_loss,lr,grad_norm,prompts,step_seconds,skipped\n",
           fmt::format("{},{},{},{},{},{},{},{},{},{}\n", m.step, m.epoch, csv_number(m.loss), csv_number(m.dice_loss),
                       csv_number(m.bce_loss), csv_number(m.lr), csv_number(m.grad_norm), m.prompts,
                       csv_number(m.step_seconds), m.skipped ? 1 : 0));
  if (m.skipped) return;  // a NaN point would spoil the curve's scale
  tensorboard(m.step, {{"train/loss", static_cast<float>(m.loss)},
                       {"train/dice_loss", static_cast<float>(m.dice_loss)},
                       {"train/bce_loss", static_cast<float>(m.bce_loss)},
                       {"train/lr", static_cast<float>(m.lr)},
                       {"train/grad_norm", static_cast<float>(m.grad_norm)},
                       {"train/samples_per_s",
                        static_cast<float>(m.step_seconds > 0 ? static_cast<double>(m.prompts) / m.step_seconds : 0)}});
}

void MetricsLog::add_validation(int64_t step, const ValidationSummary& v, bool best) {
  if (!enabled_) return;
  nlohmann::ordered_json j;
  j["step"] = step;
  j["val_objects"] = v.objects;
  j["val_mean_dsc"] = number(v.mean_dsc);
  j["val_median_dsc"] = number(v.median_dsc);
  j["val_mean_nsd"] = number(v.mean_nsd);
  j["val_median_nsd"] = number(v.median_nsd);
  j["val_seconds"] = number(v.seconds);
  j["val_best"] = best;
  nlohmann::ordered_json groups = nlohmann::ordered_json::object();
  for (const GroupScore& g : v.groups) {
    nlohmann::ordered_json e;
    e["objects"] = g.objects;
    e["mean_dsc"] = number(g.mean_dsc);
    e["median_dsc"] = number(g.median_dsc);
    e["mean_nsd"] = number(g.mean_nsd);
    e["median_nsd"] = number(g.median_nsd);
    groups[g.by][g.name] = e;
  }
  j["val_groups"] = groups;
  append("metrics.jsonl", "", j.dump() + "\n");
  if (config_.csv) {
    const std::string header = "step,by,group,objects,mean_dsc,median_dsc,mean_nsd,median_nsd\n";
    std::string lines = fmt::format("{},all,all,{},{},{},{},{}\n", step, v.objects, csv_number(v.mean_dsc),
                                    csv_number(v.median_dsc), csv_number(v.mean_nsd), csv_number(v.median_nsd));
    for (const GroupScore& g : v.groups)
      lines += fmt::format("{},{},{},{},{},{},{},{}\n", step, g.by, csv_field(g.name), g.objects, csv_number(g.mean_dsc),
                           csv_number(g.median_dsc), csv_number(g.mean_nsd), csv_number(g.median_nsd));
    append("val_metrics.csv", header, lines);
  }
  std::vector<std::pair<std::string, float>> scalars = {{"val/mean_dsc", static_cast<float>(v.mean_dsc)},
                                                        {"val/median_dsc", static_cast<float>(v.median_dsc)},
                                                        {"val/mean_nsd", static_cast<float>(v.mean_nsd)},
                                                        {"val/median_nsd", static_cast<float>(v.median_nsd)}};
  for (const GroupScore& g : v.groups) {
    scalars.emplace_back(fmt::format("val_{}/{}/mean_dsc", g.by, g.name), static_cast<float>(g.mean_dsc));
    scalars.emplace_back(fmt::format("val_{}/{}/mean_nsd", g.by, g.name), static_cast<float>(g.mean_nsd));
  }
  tensorboard(step, scalars);
}

}  // namespace medsam::train
