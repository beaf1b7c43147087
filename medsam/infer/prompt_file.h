// Prompt files for `medsam infer --boxes FILE`: many boxes, each with an optional output label.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::infer {

struct LabeledBox {
  double x0, y0, x1, y1;
  int64_t label = 0;  // 0: number boxes 1, 2, ... in order
};

// JSON: [[x0,y0,x1,y1], ...] or [{"box": [x0,y0,x1,y1], "label": 3}, ...];
// CSV: one box per line "x0,y0,x1,y1[,label]", '#' comments and a header line allowed.
// Throws UsageError naming the file and line/index of a malformed entry.
std::vector<LabeledBox> read_box_file(const std::string& path);

// "x0,y0,x1,y1" -> numbers; throws UsageError quoting `flag` and the text when malformed.
std::vector<double> parse_number_list(const std::string& text, size_t expected_count, const std::string& flag);

}  // namespace medsam::infer
