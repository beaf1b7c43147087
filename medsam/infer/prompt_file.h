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

// A 2D box on one slice of a volume (3D inference from a box per slice).
struct SliceBox {
  int64_t slice = 0;
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t label = 0;  // 0: numbered 1, 2, ... in file order
};

// JSON: [[x0,y0,x1,y1], ...] or [{"box": [x0,y0,x1,y1], "label": 3}, ...];
// CSV: one box per line "x0,y0,x1,y1[,label]", '#' comments and a header line allowed.
// Throws UsageError naming the file and line/index of a malformed entry.
std::vector<LabeledBox> read_box_file(const std::string& path);

// Box-per-slice files for `medsam infer --slice-boxes FILE` on volumes:
// JSON: [{"slice": 40, "box": [x0,y0,x1,y1], "label": 3}, ...] (label optional);
// CSV: one box per line "slice,x0,y0,x1,y1[,label]", '#' comments and a header line allowed.
// Throws UsageError naming the file and line/index of a malformed entry (slice must be an integer >= 0).
std::vector<SliceBox> read_slice_box_file(const std::string& path);

// "x0,y0,x1,y1" -> numbers; throws UsageError quoting `flag` and the text when malformed.
std::vector<double> parse_number_list(const std::string& text, size_t expected_count, const std::string& flag);

}  // namespace medsam::infer
