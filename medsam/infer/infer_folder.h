// `medsam infer --input-dir DIR --output-dir OUT`: every MedSAM/CVPR .npz case of a folder (imgs + boxes
// inside) answered with OUT/<same name>.npz holding `segs`, the model loaded once. Made for long runs
// over many cases: a case that fails (unreadable file, bad boxes, out of memory) is logged and recorded,
// and the run goes on; an answer that already exists is kept (the run resumes after a crash, since every
// answer is written atomically) unless `overwrite`; OUT/cases.csv says what happened to each case.
#pragma once

#include <string>

#include "medsam/infer/infer_job.h"

namespace medsam::infer {

struct FolderJob {
  InferJob options;        // checkpoint, arch, device, precision, intensity, propagation; no per-image fields
  std::string input_dir;   // *.npz cases, not recursive
  std::string output_dir;  // created if missing
  bool overwrite = false;  // re-answer cases whose answer exists
};

struct FolderResult {
  int answered = 0, kept = 0, failed = 0;
};

// Throws UsageError for bad options (per-image flags given, no cases, input = output folder); per-case
// failures are counted, not thrown. OUT/cases.csv: case,status,kind,boxes,seconds,message with status
// answered|kept|failed, one line added (and flushed) as each case ends; each run starts it afresh.
FolderResult run_infer_folder(const FolderJob& job);

}  // namespace medsam::infer
