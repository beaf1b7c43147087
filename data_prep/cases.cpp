#include "data_prep/cases.h"

#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "data_prep/prep_config.h"
#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/data/checksum.h"

namespace medsam::prep {
namespace fs = std::filesystem;
namespace {

const char* const kExtensions[] = {".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".dcm", ".png", ".jpg",
                                   ".jpeg",   ".bmp", ".tif", ".tiff", ".npy", ".npz"};

bool has_known_ext(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : kExtensions) {
    const std::string ext(e);
    if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0) return true;
  }
  return false;
}

// Files (and, for volumes, subfolders = DICOM series) that `spec` names, sorted.
std::vector<std::string> expand(const std::string& spec, bool folders_are_series) {
  std::vector<std::string> out;
  std::error_code ec;
  if (spec.find_first_of("*?[") != std::string::npos) {
    glob_t g{};
    if (::glob(spec.c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
  } else if (fs::is_directory(spec, ec)) {
    for (const auto& e : list_directory(spec, ec)) {
      if (e.name.empty() || e.name[0] == '.') continue;
      if (e.is_regular_file && has_known_ext(e.name)) out.push_back(e.path);
      else if (folders_are_series && e.is_directory) out.push_back(e.path);
    }
  } else if (fs::exists(spec, ec)) {
    out.push_back(spec);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Six hex digits of the CRC-32 of a case's name as written (its UTF-8 bytes): stable across runs and
// machines, so the names and splits of a rerun are the same.
std::string name_hash(const std::string& original) {
  return fmt::format("{:06x}", data::crc32_update(0, original.data(), original.size()) & 0xffffff);
}

// Names that differ only in characters sanitize_key replaces (any two Chinese names of two characters
// give "______": every UTF-8 byte outside ASCII becomes '_') each get "_<hash of the original name>"
// appended, every member of such a group. Names without a clash stay as they are, so existing datasets
// keep their case names. The same original name twice (a.nii and a.nii.gz) stays a clash for find_cases
// to refuse.
void tell_apart_sanitised_names(std::vector<CaseSource>& cases, const std::string& image_suffix) {
  std::map<std::string, std::set<std::string>> originals;  // sanitised name -> the names it came from
  for (const auto& c : cases) originals[c.name].insert(case_stem(c.image, image_suffix));
  for (auto& c : cases) {
    const auto& from = originals[c.name];
    if (from.size() < 2) continue;
    const auto original = case_stem(c.image, image_suffix);
    const auto renamed = c.name + "_" + name_hash(original);
    log_info("prep: case '{}' is named {} ({} names give '{}' once sanitised)", original, renamed, from.size(), c.name);
    c.name = renamed;
  }
}

}  // namespace

std::string sanitize_key(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) c = '_';
  return out.empty() ? "_" : out;
}

std::string case_stem(const std::string& path, const std::string& suffix) {
  std::string name = fs::path(path).filename().string();
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : kExtensions) {
    const std::string ext(e);
    if (lower.size() > ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0) {
      name.resize(name.size() - ext.size());
      break;
    }
  }
  if (!suffix.empty() && name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  return name;
}

std::vector<CaseSource> find_cases(const PrepConfig& config) {
  const auto& d = config.dataset;
  const bool volumes = d.kind == "volume";
  const std::string image_spec = config.resolve(d.images), label_spec = config.resolve(d.labels);
  const auto images = expand(image_spec, volumes);
  if (images.empty()) throw Error(fmt::format("{}: dataset.images matches no file", image_spec));
  std::vector<CaseSource> cases;
  if (d.kind == "npz") {  // imgs and gts live in the same file
    for (const auto& i : images) cases.push_back({sanitize_key(case_stem(i, d.image_suffix)), i, i});
  } else {
    const auto labels = expand(label_spec, volumes);
    if (images.size() == 1 && labels.size() == 1 && !std::filesystem::is_directory(image_spec)) {
      cases.push_back({sanitize_key(case_stem(images[0], d.image_suffix)), images[0], labels[0]});
      return cases;
    }
    std::map<std::string, std::string> by_stem;
    for (const auto& l : labels) by_stem[case_stem(l, d.label_suffix)] = l;
    for (const auto& i : images) {
      const auto stem = case_stem(i, d.image_suffix);
      const auto it = by_stem.find(stem);
      cases.push_back({sanitize_key(stem), i, it == by_stem.end() ? std::string() : it->second});
    }
  }
  tell_apart_sanitised_names(cases, d.image_suffix);
  std::sort(cases.begin(), cases.end(), [](const CaseSource& a, const CaseSource& b) { return a.name < b.name; });
  for (size_t i = 1; i < cases.size(); ++i)
    if (cases[i].name == cases[i - 1].name)
      throw Error(fmt::format("{} and {}: two images give the same case name '{}'", cases[i - 1].image, cases[i].image,
                              cases[i].name));
  return cases;
}

}  // namespace medsam::prep
