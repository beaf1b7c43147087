#include "medsam/infer/prompt_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"

namespace medsam::infer {

namespace {

// Plain decimal notation, spaces around allowed: [+-]digits[.digits][e[+-]digits], ".5" too. std::stod
// alone would also read hex ("0x10" as 16), "nan" and "inf".
bool is_decimal(const std::string& item) {
  size_t i = item.find_first_not_of(" \t");
  if (i == std::string::npos) return false;
  const auto digits = [&] {
    const size_t start = i;
    while (i < item.size() && std::isdigit(static_cast<unsigned char>(item[i]))) ++i;
    return i - start;
  };
  if (item[i] == '+' || item[i] == '-') ++i;
  size_t mantissa = digits();
  if (i < item.size() && item[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < item.size() && (item[i] == 'e' || item[i] == 'E')) {
    ++i;
    if (i < item.size() && (item[i] == '+' || item[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return item.find_first_not_of(" \t", i) == std::string::npos;
}

}  // namespace

std::vector<double> parse_number_list(const std::string& text, size_t expected_count, const std::string& flag) {
  std::vector<double> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    double v = 0;
    try {
      v = is_decimal(item) ? std::stod(item) : NAN;
    } catch (const std::out_of_range&) {
      v = NAN;  // 1e999
    }
    if (!std::isfinite(v))
      throw UsageError(fmt::format("{} '{}': '{}' is not a number (decimal notation, e.g. 12 or 12.5)", flag, text, item));
    values.push_back(v);
  }
  if (values.size() != expected_count)
    throw UsageError(fmt::format("{} '{}': expected {} comma-separated numbers, got {}", flag, text, expected_count,
                                 values.size()));
  return values;
}

namespace {

std::vector<LabeledBox> read_json_boxes(const std::string& path, const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (!doc.is_array()) throw UsageError(fmt::format("{}: expected a JSON list of boxes", path));
  std::vector<LabeledBox> boxes;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    const auto& coords = entry.is_object() ? entry.value("box", nlohmann::json()) : entry;
    if (!coords.is_array() || coords.size() != 4 ||
        !std::all_of(coords.begin(), coords.end(), [](const auto& v) { return v.is_number(); }))
      throw UsageError(fmt::format("{}: entry {} needs a box of 4 numbers [x0, y0, x1, y1]", path, i));
    LabeledBox b{coords[0].get<double>(), coords[1].get<double>(), coords[2].get<double>(), coords[3].get<double>()};
    if (entry.is_object() && entry.contains("label")) {
      if (!entry["label"].is_number_integer() || entry["label"].get<int64_t>() <= 0)
        throw UsageError(fmt::format("{}: entry {} has label {}, expected a positive integer", path, i,
                                     entry["label"].dump()));
      b.label = entry["label"].get<int64_t>();
    }
    boxes.push_back(b);
  }
  return boxes;
}

// Excel's "CSV UTF-8" starts the file with a byte-order mark, which would make the first line look like a
// header and drop its box.
std::string without_bom(const std::string& text) { return text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text; }

// A header names its columns: its first field is not a number (" 10", "-5" and ".5" are data).
bool is_header(const std::string& line) {
  const std::string first = line.substr(0, line.find(','));
  const auto begin = first.find_first_not_of(" \t"), end = first.find_last_not_of(" \t");
  if (begin == std::string::npos) return false;  // an empty field: a malformed data line, reported as such
  const std::string trimmed = first.substr(begin, end - begin + 1);
  try {
    size_t used = 0;
    std::stod(trimmed, &used);
    return used != trimmed.size();
  } catch (const std::exception&) {
    return true;
  }
}

std::vector<LabeledBox> read_csv_boxes(const std::string& path, const std::string& text) {
  std::vector<LabeledBox> boxes;
  std::stringstream ss(without_bom(text));
  std::string line;
  int line_no = 0, first_line = 0;  // the first line that is no comment: the only one a header may be
  while (std::getline(ss, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first_line == 0) first_line = line_no;
    if (line_no == first_line && is_header(line)) continue;
    const size_t fields = std::count(line.begin(), line.end(), ',') + 1;
    if (fields != 4 && fields != 5)
      throw UsageError(fmt::format("{}:{}: expected x0,y0,x1,y1[,label], got '{}'", path, line_no, line));
    const auto v = parse_number_list(line, fields, fmt::format("{}:{}", path, line_no));
    LabeledBox b{v[0], v[1], v[2], v[3]};
    if (fields == 5) {
      if (v[4] <= 0 || v[4] != static_cast<int64_t>(v[4]))
        throw UsageError(fmt::format("{}:{}: label {} must be a positive integer", path, line_no, v[4]));
      b.label = static_cast<int64_t>(v[4]);
    }
    boxes.push_back(b);
  }
  return boxes;
}

// A prompt file the user named: its absence is a usage error (exit 2), as a bad flag is.
std::string read_text(const std::string& path, const char* what) {
  try {
    return read_file_bytes(path, what);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

bool looks_like_json_list(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '[';
}

int64_t positive_label(double v, const std::string& where) {
  if (v <= 0 || v != static_cast<double>(static_cast<int64_t>(v)))
    throw UsageError(fmt::format("{}: label {} must be a positive integer", where, v));
  return static_cast<int64_t>(v);
}

int64_t slice_index(double v, const std::string& where) {
  if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v)))
    throw UsageError(fmt::format("{}: slice {} must be an integer >= 0", where, v));
  return static_cast<int64_t>(v);
}

std::vector<SliceBox> read_json_slice_boxes(const std::string& path, const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (!doc.is_array()) throw UsageError(fmt::format("{}: expected a JSON list of slice boxes", path));
  std::vector<SliceBox> boxes;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    const std::string where = fmt::format("{}: entry {}", path, i);
    if (!entry.is_object() || !entry.contains("slice") || !entry["slice"].is_number())
      throw UsageError(fmt::format("{} needs {{\"slice\": z, \"box\": [x0, y0, x1, y1]}}", where));
    const auto& coords = entry.value("box", nlohmann::json());
    if (!coords.is_array() || coords.size() != 4 ||
        !std::all_of(coords.begin(), coords.end(), [](const auto& v) { return v.is_number(); }))
      throw UsageError(fmt::format("{} needs a box of 4 numbers [x0, y0, x1, y1]", where));
    SliceBox b;
    b.slice = slice_index(entry["slice"].get<double>(), where);
    b.x0 = coords[0].get<double>();
    b.y0 = coords[1].get<double>();
    b.x1 = coords[2].get<double>();
    b.y1 = coords[3].get<double>();
    if (entry.contains("label")) {
      if (!entry["label"].is_number()) throw UsageError(fmt::format("{}: label must be a number", where));
      b.label = positive_label(entry["label"].get<double>(), where);
    }
    boxes.push_back(b);
  }
  return boxes;
}

std::vector<SliceBox> read_csv_slice_boxes(const std::string& path, const std::string& text) {
  std::vector<SliceBox> boxes;
  std::stringstream ss(without_bom(text));
  std::string line;
  int line_no = 0, first_line = 0;  // as read_csv_boxes
  while (std::getline(ss, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t") == std::string::npos) continue;
    if (first_line == 0) first_line = line_no;
    if (line_no == first_line && is_header(line)) continue;
    const size_t fields = std::count(line.begin(), line.end(), ',') + 1;
    const std::string where = fmt::format("{}:{}", path, line_no);
    if (fields != 5 && fields != 6)
      throw UsageError(fmt::format("{}: expected slice,x0,y0,x1,y1[,label], got '{}'", where, line));
    const auto v = parse_number_list(line, fields, where);
    SliceBox b;
    b.slice = slice_index(v[0], where);
    b.x0 = v[1];
    b.y0 = v[2];
    b.x1 = v[3];
    b.y1 = v[4];
    if (fields == 6) b.label = positive_label(v[5], where);
    boxes.push_back(b);
  }
  return boxes;
}

}  // namespace

std::vector<SliceBox> read_slice_box_file(const std::string& path) {
  const std::string text = read_text(path, "slice box file");
  std::vector<SliceBox> boxes =
      looks_like_json_list(text) ? read_json_slice_boxes(path, text) : read_csv_slice_boxes(path, text);
  if (boxes.empty()) throw UsageError(fmt::format("{}: no boxes in file", path));
  return boxes;
}

std::vector<LabeledBox> read_box_file(const std::string& path) {
  const std::string text = read_text(path, "box file");
  const auto first = text.find_first_not_of(" \t\r\n");
  std::vector<LabeledBox> boxes = (first != std::string::npos && text[first] == '[') ? read_json_boxes(path, text)
                                                                                    : read_csv_boxes(path, text);
  if (boxes.empty()) throw UsageError(fmt::format("{}: no boxes in file", path));
  return boxes;
}

}  // namespace medsam::infer
