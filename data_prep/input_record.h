// What a prep remembers of each case's input files, so that a rerun notices an input edited after its
// case was converted: a corrected label file must not be answered with "already complete", and a case
// skipped for a corrupt file is tried again once the file is replaced.
//
// The records live in inputs.tsv beside manifest.json, one line per case, appended at each commit
// (O(cases) in all; the manifest, rewritten at every commit, stays small). manifest.json says how many
// bytes of it are committed; a longer file is the tail of an interrupted run and is cut back.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace medsam::prep {

// Size, modification time and CRC-32 of a file, or of a folder's regular files (a DICOM series: sizes
// summed, the newest time, one CRC over the names and contents in name order).
struct FileStamp {
  bool exists = false;
  std::uint64_t bytes = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t crc32 = 0;
};

struct CaseInputs {
  std::string id;                      // "<dataset>/<case>"
  FileStamp image, labels;             // labels: not `exists` when no label file was paired
  std::uint32_t labels_path_hash = 0;  // CRC-32 of the label file's path (which file was paired)
};

// Stamps both inputs, reading them whole for the CRCs. Never throws: an unreadable input is recorded as
// absent (its case fails on it anyway, and is retried once it can be read).
CaseInputs stamp_case_inputs(const std::string& id, const std::string& image, const std::string& labels);

// How the case's files differ from `recorded` ("" when they do not). Size and time are compared first;
// when they differ the CRC decides, so a copy or a `touch` that kept the content is no change.
std::string describe_input_change(const CaseInputs& recorded, const std::string& image, const std::string& labels);

// One inputs.tsv line (with its '\n'). Throws Error when the id holds a tab or a newline.
std::string format_input_record(const CaseInputs& inputs);

// The records in the first `bytes` bytes of `path`, by case id (a later line for the same case wins).
// Throws Error naming the file and line when one is malformed, or when the file is shorter than `bytes`.
std::map<std::string, CaseInputs> read_input_records(const std::string& path, std::uint64_t bytes);

// Appends `text` to `path` (created when absent) and fsyncs it; returns the file's new size.
std::uint64_t append_input_records(const std::string& path, const std::string& text);

}  // namespace medsam::prep
