#include "medsam/serve/api_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>

#include "medsam/core/error.h"
#include "medsam/core/version.h"
#include "medsam/serve/image_id.h"
#include "medsam/serve/mask_encoding.h"

namespace medsam::serve {

namespace {

using nlohmann::json;

// The deepest nesting a request needs is 3 (the body, "boxes", one box).
constexpr int kMaxNesting = 8;

// What a client sent, for an error message: a short scalar as written, anything else by type and size.
// Never dump() a client's array or object: dump() recurses once per nesting level.
std::string describe(const json& v) {
  if (v.is_primitive()) {
    const std::string text = v.dump();
    return text.size() > 40 ? text.substr(0, 40) + "..." : text;
  }
  return fmt::format("{} of {} entries", v.type_name(), v.size());
}

template <size_t N>
std::array<double, N> numbers(const json& v, const std::string& where, const char* meaning) {
  if (!v.is_array() || v.size() != N)
    throw UsageError(fmt::format("{}: expected {} numbers {}, got {}", where, N, meaning, describe(v)));
  std::array<double, N> out{};
  for (size_t k = 0; k < N; ++k) {
    if (!v[k].is_number()) throw UsageError(fmt::format("{}[{}]: expected a number, got {}", where, k, describe(v[k])));
    out[k] = v[k].get<double>();
    if (!std::isfinite(out[k])) throw UsageError(fmt::format("{}[{}]: not a finite number", where, k));
  }
  return out;
}

const json& array_field(const json& body, const char* key) {
  const json& v = body.at(key);
  if (!v.is_array()) throw UsageError(fmt::format("'{}': expected an array, got {}", key, v.type_name()));
  return v;
}

}  // namespace

SegmentCall parse_segment_call(const std::string& body) {
  // The parser tells its callback each array's and object's depth (0: the body): deeper than a request
  // needs is refused at once, before anything that deep exists.
  const json::parser_callback_t refuse_deep = [](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxNesting)
      throw UsageError(fmt::format("the request body nests deeper than {} levels", kMaxNesting));
    return true;
  };
  json j;
  try {
    j = json::parse(body, refuse_deep);
  } catch (const json::parse_error& e) {
    throw UsageError(fmt::format("the request body is not JSON: {}", e.what()));
  } catch (const json::exception& e) {
    // Valid JSON nlohmann cannot hold: a number past double's range (1e400) is out_of_range.406.
    throw UsageError(fmt::format("the request body cannot be read: {}", e.what()));
  }
  if (!j.is_object()) throw UsageError("the request body must be a JSON object");
  for (const auto& item : j.items())
    if (item.key() != "image_id" && item.key() != "boxes" && item.key() != "points" && item.key() != "mask_format" &&
        item.key() != "multimask")
      throw UsageError(
          fmt::format("unknown key '{}' (expected image_id, boxes, points, mask_format, multimask)", item.key()));

  SegmentCall call;
  if (!j.contains("image_id") || !j["image_id"].is_string())
    throw UsageError("'image_id' (a string, from POST /v1/images) is required");
  call.request.image_id = j["image_id"].get<std::string>();
  if (!looks_like_image_id(call.request.image_id))
    throw UsageError(fmt::format("'image_id' {} is not an id this server gives out (64 hex digits)",
                                 describe(j["image_id"])));
  if (j.contains("boxes")) {
    const json& boxes = array_field(j, "boxes");
    for (size_t i = 0; i < boxes.size(); ++i)
      call.request.boxes.push_back(numbers<4>(boxes[i], fmt::format("boxes[{}]", i), "[x0, y0, x1, y1]"));
  }
  if (j.contains("points")) {
    const json& points = array_field(j, "points");
    for (size_t i = 0; i < points.size(); ++i) {
      const auto p = numbers<3>(points[i], fmt::format("points[{}]", i), "[x, y, label]");
      if (p[2] != 0 && p[2] != 1)
        throw UsageError(fmt::format("points[{}]: label {} (1 foreground, 0 background)", i, p[2]));
      call.request.points.push_back(p);
    }
  }
  if (j.contains("multimask")) {
    if (!j["multimask"].is_boolean())
      throw UsageError(fmt::format("'multimask': expected true or false, got {}", describe(j["multimask"])));
    call.request.multimask = j["multimask"].get<bool>();
  }
  if (j.contains("mask_format")) {
    const json& f = j["mask_format"];
    if (f == "png")
      call.format = MaskFormat::kPng;
    else if (f == "rle")
      call.format = MaskFormat::kRle;
    else
      throw UsageError(fmt::format("'mask_format' {}: expected \"png\" or \"rle\"", describe(f)));
  }
  return call;
}

std::string image_answer_json(const ImageInfo& info) {
  return json{{"image_id", info.id},           {"height", info.height},
              {"width", info.width},           {"cached", info.cached},
              {"encoder_seconds", info.encoder_seconds}, {"intensity", info.intensity}}
      .dump();
}

std::string segment_answer_json(const std::string& image_id, const SegmentResult& result, MaskFormat format) {
  const auto mask_json = [&](const PromptMask& m) {
    json entry{{"score", m.score}, {"area", m.area}};
    if (format == MaskFormat::kPng) {
      entry["png"] = mask_to_png_base64(m.mask);
    } else {
      const Rle rle = mask_to_rle(m.mask);
      entry["rle"] = {{"size", {rle.height, rle.width}}, {"counts", rle.counts}};
    }
    return entry;
  };
  json masks = json::array();
  for (const auto& m : result.masks) {
    json entry = mask_json(m);
    if (!m.candidates.empty()) {
      entry["candidates"] = json::array();
      for (const auto& c : m.candidates) entry["candidates"].push_back(mask_json(c));
    }
    masks.push_back(std::move(entry));
  }
  return json{{"image_id", image_id},
              {"height", result.height},
              {"width", result.width},
              {"decoder_seconds", result.decoder_seconds},
              {"masks", std::move(masks)}}
      .dump();
}

std::string info_json(const ServiceInfo& info) {
  const StoreStats& s = info.store;
  return json{{"status", "ok"},
              {"version", version_string()},
              {"model", {{"checkpoint", info.checkpoint}, {"arch", info.arch}, {"img_size", info.img_size}}},
              {"device", info.device},
              {"precision", info.precision},
              {"store",
               {{"images", s.images}, {"bytes", s.bytes}, {"capacity_bytes", s.capacity}, {"hits", s.hits},
                {"misses", s.misses}, {"evictions", s.evictions}}}}
      .dump();
}

std::string error_json(int status, const std::string& message) {
  return json{{"error", message}, {"status", status}}.dump();
}

}  // namespace medsam::serve
