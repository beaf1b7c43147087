#include "medsam/infer/infer_folder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "medsam/core/csv.h"
#include "medsam/core/device.h"
#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/normalize.h"
#include "medsam/infer/npz_case.h"
#include "medsam/infer/predictor.h"
#include "medsam/io/file_name.h"
#include "medsam/io/npy.h"
#include "medsam/model/load_sam.h"

namespace medsam::infer {
namespace {

// Our answers are written atomically, but a copied or older one may be cut short: only an answer that
// reads as an .npz with a `segs` array is kept. Returns why not ("" when it does).
std::string unreadable_answer(const std::string& path) {
  try {
    const NamedTensors arrays = read_npz(path, {"segs"});
    if (arrays.empty() || !arrays.front().second.defined()) return "it has no 'segs' array";
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct CaseRow {
  std::string name, status, kind, message;
  int64_t boxes = 0;
  double seconds = 0;
};

// cases.csv, one line per case as it ends (flushed, not fsynced: a log, rewritten by the next run;
// rewriting the whole file after every case would be quadratic over thousands of cases).
class CasesCsv {
 public:
  explicit CasesCsv(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
    if (!out_) throw Error(fmt::format("cannot write {}", path));
    out_ << "case,status,kind,boxes,seconds,message\n" << std::flush;
  }
  void add(const CaseRow& r) {
    out_ << fmt::format("{},{},{},{},{:.3f},{}\n", csv_field(r.name), r.status, r.kind, r.boxes, r.seconds,
                        csv_field(r.message))
         << std::flush;
    if (!out_) throw Error(fmt::format("cannot write {}", path_));
  }

 private:
  std::string path_;
  std::ofstream out_;
};

void reject_per_image_flags(const InferJob& j) {
  const bool per_image = !j.image.empty() || !j.boxes.empty() || !j.points.empty() || !j.mask_input.empty() ||
                         j.box3d || !j.slice_boxes.empty() || !j.output.empty() || !j.save_embedding.empty() ||
                         !j.embedding.empty() || !j.save_logits.empty() || !j.save_prob.empty() || !j.overlay.empty();
  if (per_image)
    throw UsageError("--input-dir answers the .npz cases of a folder (their boxes inside) into --output-dir; "
                     "drop --image/--box/--point/--box3d/--slice-boxes/--mask-input/--embedding and the per-image "
                     "outputs (--output/--overlay/--save-*)");
}

std::vector<fs::path> list_cases(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UsageError(fmt::format("--input-dir '{}' is not a folder", dir));
  std::vector<fs::path> cases;
  for (const auto& entry : list_directory(dir, ec))
    if (entry.is_regular_file && io::has_extension(entry.path, {".npz"})) cases.push_back(entry.path);
  if (ec) throw Error(fmt::format("--input-dir '{}': cannot list it: {}", dir, ec.message()));
  if (cases.empty()) throw UsageError(fmt::format("--input-dir '{}' holds no .npz case", dir));
  std::sort(cases.begin(), cases.end());
  return cases;
}

}  // namespace

FolderResult run_infer_folder(const FolderJob& job) {
  const InferJob& o = job.options;
  if (o.checkpoint.empty()) throw UsageError("--checkpoint is required");
  if (job.output_dir.empty()) throw UsageError("--input-dir needs --output-dir for the answers");
  reject_per_image_flags(o);
  const std::vector<fs::path> cases = list_cases(job.input_dir);
  std::error_code ec;
  fs::create_directories(job.output_dir, ec);
  if (ec) throw Error(fmt::format("--output-dir '{}': cannot create it: {}", job.output_dir, ec.message()));
  if (fs::equivalent(job.input_dir, job.output_dir, ec))
    throw UsageError(fmt::format("--output-dir '{}' is the input folder: answers would overwrite the cases",
                                 job.output_dir));

  const c10::Device device = parse_device(o.device);
  const Precision precision = parse_precision(o.precision, device);
  const auto t_load = Clock::now();
  LoadedSam loaded = load_sam(o.checkpoint, o.arch);
  log_info("model: {} from {} in {:.2f} s; {} case(s) in {}", loaded.model->config.arch, o.checkpoint,
           std::chrono::duration<double>(Clock::now() - t_load).count(), cases.size(), job.input_dir);
  Predictor predictor(loaded.model, device, precision);

  const std::string csv = (fs::path(job.output_dir) / "cases.csv").string();
  CasesCsv rows(csv);
  FolderResult result;
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseRow row;
    row.name = cases[i].filename().string();
    const std::string answer = (fs::path(job.output_dir) / cases[i].filename()).string();
    const auto t0 = Clock::now();
    const bool answered_before = !job.overwrite && fs::exists(answer, ec);
    const std::string unreadable = answered_before ? unreadable_answer(answer) : "";  // why it is answered again
    if (answered_before && unreadable.empty()) {
      row.status = "kept";
      row.message = "answer exists (--overwrite to redo)";
      ++result.kept;
    } else {
      if (!unreadable.empty()) log_warn("{}: the existing answer is answered again: {}", row.name, unreadable);
      try {
        const NpzCase c = read_npz_case(cases[i].string());
        row.kind = c.is_3d ? "3D" : "2D";
        row.boxes = c.boxes.size(0);
        const at::Tensor image = data::normalize_for(c.imgs, o.intensity).data;
        // Long 3D cases report their slices now and then, so a run never looks stuck.
        const auto progress = [&](int64_t done, int64_t total) {
          if (done % 50 == 0 && done < total) log_info("  {}: slices {}/{}", row.name, done, total);
        };
        std::vector<std::string> skipped;
        const at::Tensor segs = segment_npz_case(predictor, c, image, o.propagation, progress, &skipped);
        write_npz(answer, {{"segs", segs.contiguous()}});
        row.status = "answered";
        if (!skipped.empty())
          row.message = fmt::format("{} of {} box(es) skipped: {}", skipped.size(), row.boxes, fmt::join(skipped, "; "));
        ++result.answered;
      } catch (const std::exception& e) {
        // One bad case must not end a run over thousands; it is named here and in cases.csv.
        row.status = "failed";
        row.message = e.what();
        ++result.failed;
      }
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (row.status == "failed")
      log_error("[{}/{}] {}: failed: {}", i + 1, cases.size(), row.name, row.message);
    else
      log_info("[{}/{}] {}: {}{} in {:.2f} s", i + 1, cases.size(), row.name, row.status,
               row.kind.empty() ? "" : fmt::format(" ({}, {} box{})", row.kind, row.boxes, row.boxes == 1 ? "" : "es"),
               row.seconds);
    rows.add(row);
  }
  log_info("{} case(s): {} answered, {} kept, {} failed; {}", cases.size(), result.answered, result.kept,
           result.failed, csv);
  return result;
}

}  // namespace medsam::infer
