// Finding the cases of a dataset: image files (or DICOM folders) paired with label files by name.
#pragma once

#include <string>
#include <vector>

namespace medsam::prep {

struct PrepConfig;

struct CaseSource {
  std::string name;    // from the image file name, suffixes stripped, sanitised for sample keys; when two
                       // different names sanitise alike, each gets "_" + 6 hex digits of its original's CRC-32
  std::string image;   // file or DICOM folder
  std::string labels;  // empty when no label file matched (the case is then skipped with that reason)
};

// Lists the cases of `config.dataset`, sorted by name (deterministic). A single-file `images` gives one
// case; folders list their files (and, for volumes, subfolders as DICOM series); globs use glob(3).
// Throws Error when `images` matches nothing, or when two images still give one case name (the same
// name with two extensions, a.nii and a.nii.gz).
std::vector<CaseSource> find_cases(const PrepConfig& config);

// File name without folder and known extensions (.nii.gz, .nii, .mha, .png, ...), `suffix` removed
// from the end when present.
std::string case_stem(const std::string& path, const std::string& suffix);

// Letters, digits, '_' and '-' kept; anything else (dots, spaces) becomes '_'.
std::string sanitize_key(const std::string& s);

}  // namespace medsam::prep
