// The JSON of `medsam serve`'s API (docs/serving.md): requests parsed strictly (an unknown key, a wrong
// type or a box of 3 numbers is a UsageError naming it), answers written. No HTTP here.
#pragma once

#include <string>

#include "medsam/serve/segment_service.h"

namespace medsam::serve {

enum class MaskFormat { kPng, kRle };

struct SegmentCall {
  SegmentRequest request;
  MaskFormat format = MaskFormat::kPng;
};

// {"image_id": "...", "boxes": [[x0, y0, x1, y1], ...], "points": [[x, y, label], ...],
//  "mask_format": "png" | "rle", "multimask": false | true}
SegmentCall parse_segment_call(const std::string& body);

std::string image_answer_json(const ImageInfo& info);
std::string segment_answer_json(const std::string& image_id, const SegmentResult& result, MaskFormat format);
std::string info_json(const ServiceInfo& info);
std::string error_json(int status, const std::string& message);

}  // namespace medsam::serve
