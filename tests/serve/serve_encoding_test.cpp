// The pieces of `medsam serve` below HTTP: RLE as SAM writes it, image ids, upload decoding, the
// JSON requests parsed strictly, and which request bodies are read at all.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <optional>
#include <string>

#include "medsam/core/base64.h"
#include "medsam/data/normalize.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/serve/api_json.h"
#include "medsam/serve/body_guard.h"
#include "medsam/serve/image_id.h"
#include "medsam/serve/mask_encoding.h"
#include "medsam/serve/serve_errors.h"
#include "medsam/serve/upload_decode.h"

using namespace medsam;
using namespace medsam::serve;

TEST_CASE("RLE counts run over columns first and start with zeros, as SAM's mask_to_rle", "[serve]") {
  // Column-major: (0,1),(1,1),(1,0) -> 0 1 1 1 1 0 -> runs 1, 4, 1.
  const Rle a = mask_to_rle(torch::tensor({{0, 1, 1}, {1, 1, 0}}, at::kByte));
  CHECK(a.height == 2);
  CHECK(a.width == 3);
  CHECK(a.counts == std::vector<int64_t>{1, 4, 1});
  // A set first pixel gives a leading 0 run.
  CHECK(mask_to_rle(torch::tensor({{1, 0}, {0, 0}}, at::kByte)).counts == std::vector<int64_t>{0, 1, 3});
  CHECK(mask_to_rle(torch::zeros({3, 5}, at::kByte)).counts == std::vector<int64_t>{15});

  torch::manual_seed(3);
  const at::Tensor random = torch::rand({37, 53}).gt(0.6).to(at::kByte);
  CHECK(torch::equal(rle_to_mask(mask_to_rle(random)), random));
  CHECK_THROWS_WITH(rle_to_mask(Rle{2, 2, {1, 2}}), Catch::Contains("sum to 3, not 2×2"));
}

TEST_CASE("image ids are SHA-256 of the bytes and the intensity rule", "[serve]") {
  // Python: hashlib.sha256(b"3:abcxyz").hexdigest(): the key is length-prefixed before the bytes.
  CHECK(image_id("xyz", "abc") == "c8461ec950b7e8d7133e930e3e66c9b60774f04f329ba2aff7489d329543b516");
  CHECK(image_id("", "") == "ba768b331fd86cec803be04e56ab2b3d4c0e98ef4ee4fcd4e72ad7cce61a1d1f");
  CHECK(looks_like_image_id(image_id("", "")));
  CHECK(image_id("bytes", "a") != image_id("bytes", "b"));
  CHECK(image_id("1:ab", "") != image_id("b", "1:a"));
  CHECK(image_id("same", "k") == image_id("same", "k"));
  CHECK_FALSE(looks_like_image_id("ABC"));
  CHECK_FALSE(looks_like_image_id(std::string(64, 'g')));
}

TEST_CASE("uploads are recognised by their bytes, and a contradicting Content-Type or a corrupt file is refused", "[serve]") {
  const at::Tensor image = torch::arange(0, 12 * 10, at::kInt).remainder(256).to(at::kByte).reshape({12, 10, 1});
  const auto png = io::encode_png(image);
  const std::string bytes(png.begin(), png.end());
  for (const char* type : {"image/png", "", "application/octet-stream", "IMAGE/PNG; charset=binary"})
    CHECK(torch::equal(decode_upload(bytes, type), image));
  CHECK_THROWS_AS(decode_upload(bytes, "image/jpeg"), UnsupportedMediaError);
  CHECK_THROWS_WITH(decode_upload(bytes, "image/jpeg"), Catch::Contains("Content-Type says 'image/jpeg' but the bytes are image/png"));
  CHECK_THROWS_AS(decode_upload("GIF89a....", "image/gif"), UnsupportedMediaError);
  CHECK_THROWS_WITH(decode_upload("", "image/png"), Catch::Contains("empty"));
  // A truncated PNG is the client's error (UsageError -> 400), not the server's.
  const std::string truncated = bytes.substr(0, bytes.size() / 2);
  try {
    decode_upload(truncated, "image/png");
    FAIL("a truncated PNG decoded");
  } catch (const UnsupportedMediaError& e) {
    FAIL("a truncated PNG is a bad file, not an unsupported type: " << e.what());
  } catch (const UsageError& e) {
    CHECK_THAT(e.what(), Catch::Contains("the uploaded image/png"));
  }
}

TEST_CASE("npy uploads keep their values, and other shapes are refused naming the shape", "[serve]") {
  const at::Tensor hu = torch::linspace(-1000, 1000, 6 * 8).reshape({6, 8});
  CHECK(torch::equal(decode_upload(format_npy(hu), "application/x-npy"), hu));
  CHECK(torch::equal(decode_upload(format_npy(hu), "application/npy"), hu));
  CHECK_THROWS_WITH(decode_upload(format_npy(torch::zeros({2, 3, 4, 5})), ""), Catch::Contains("shape [2, 3, 4, 5]"));
  CHECK_THROWS_WITH(decode_upload(format_npy(torch::zeros({4, 4, 2})), ""), Catch::Contains("C 1, 3 or 4"));
  CHECK_THROWS_AS(decode_upload(format_npy(hu).substr(0, 100), ""), UsageError);
}

TEST_CASE("an upload's alpha channel is dropped before intensity normalisation: RGBA gives the RGB image's pixels",
          "[serve]") {
  // 16-bit values (0..4000) go through the percentile clip, where an opaque alpha (65535, a quarter of
  // the values) would set the top and squeeze the image into a few grey levels.
  const at::Tensor rgb = torch::arange(0, 20 * 16 * 3, at::kInt).remainder(4001).reshape({20, 16, 3});
  const at::Tensor rgba = torch::cat({rgb, torch::full({20, 16, 1}, 65535, at::kInt)}, 2);
  const auto png = io::encode_png(rgba);
  const at::Tensor from_png = decode_upload(std::string(png.begin(), png.end()), "image/png");
  CHECK(torch::equal(from_png, rgb));
  CHECK(torch::equal(decode_upload(format_npy(rgba), "application/x-npy"), rgb));
  const data::IntensitySpec spec;
  CHECK(torch::equal(data::normalize_for(from_png, spec).data, data::normalize_for(rgb, spec).data));
}

TEST_CASE("segment requests are parsed strictly, errors naming the key", "[serve]") {
  const std::string id(64, 'a');
  const SegmentCall call = parse_segment_call(
      R"({"image_id": ")" + id + R"(", "boxes": [[1, 2, 30, 40.5], [0, 0, 5, 5]], "points": [[3, 4, 1]], "mask_format": "rle"})");
  CHECK(call.request.image_id == id);
  REQUIRE(call.request.boxes.size() == 2);
  CHECK(call.request.boxes[0] == std::array<double, 4>{1, 2, 30, 40.5});
  CHECK(call.request.points.at(0) == std::array<double, 3>{3, 4, 1});
  CHECK(call.format == MaskFormat::kRle);
  CHECK_FALSE(call.request.multimask);
  CHECK(parse_segment_call(R"({"image_id": ")" + id + R"(", "points": [[3, 4, 1]], "multimask": true})").request.multimask);
  CHECK(parse_segment_call(R"({"image_id": ")" + id + R"(", "boxes": [[1, 2, 3, 4]]})").format == MaskFormat::kPng);

  const auto with = [&](const std::string& rest) { return R"({"image_id": ")" + id + "\", " + rest + "}"; };
  CHECK_THROWS_WITH(parse_segment_call("{not json"), Catch::Contains("not JSON"));
  CHECK_THROWS_WITH(parse_segment_call("[1]"), Catch::Contains("JSON object"));
  CHECK_THROWS_WITH(parse_segment_call(R"({"boxes": [[1, 2, 3, 4]]})"), Catch::Contains("'image_id'"));
  CHECK_THROWS_WITH(parse_segment_call(R"({"image_id": "abc", "boxes": []})"), Catch::Contains("64 hex digits"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("box": [1, 2, 3, 4])")), Catch::Contains("unknown key 'box'"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[1, 2, 3, 4], [1, 2, 3]])")), Catch::Contains("boxes[1]: expected 4 numbers"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[1, "2", 3, 4]])")), Catch::Contains("boxes[0][1]: expected a number"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": {"a": 1})")), Catch::Contains("'boxes': expected an array"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("points": [[1, 2, 2]])")), Catch::Contains("points[0]: label 2"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("points": [[1, 2, 1]], "multimask": 1)")), Catch::Contains("'multimask': expected true or false"));
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[1, 2, 3, 4]], "mask_format": "jpeg")")), Catch::Contains("'mask_format' \"jpeg\""));
  // A client's arrays are described, never echoed: a nested one of 200,000 levels would have overflowed the
  // stack in json::dump. Bodies nested deeper than a request needs are refused before parsing.
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[[1], 2, 3, 4, 5]])")), Catch::Contains("got array of 5 entries"));
  const std::string deep = with(R"("boxes": )" + std::string(200000, '[') + std::string(200000, ']'));
  CHECK_THROWS_WITH(parse_segment_call(deep), Catch::Contains("nests deeper than 8 levels"));
  CHECK_NOTHROW(parse_segment_call(with(R"("boxes": [[1, 2, 3, 4]], "mask_format": "rle", "points": [[1, 1, 0]])")));
  // Valid JSON that no double holds: nlohmann's out_of_range, a 400 naming the number, not a 500.
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[1e400, 1, 2, 3]])")),
                    Catch::Contains("cannot be read") && Catch::Contains("1e400"));
  CHECK_THROWS_AS(parse_segment_call(with(R"("boxes": [[1, 1, 2, -1e999]])")), UsageError);
  CHECK_THROWS_WITH(parse_segment_call(with(R"("boxes": [[1, 2, 3, 4]], "mask_format": ")" + std::string(100, 'x') + "\"")),
                    Catch::Contains("xxx...") && !Catch::Contains(std::string(60, 'x')));
}

TEST_CASE("bodies httplib would read past its limit, or mangle as forms, are refused from their headers", "[serve]") {
  CHECK(segment_body_limit(256, 64) == 1024 * 1024);  // 320 prompts of 1 KiB: under the 1 MiB floor
  CHECK(segment_body_limit(2000, 48) == 2048 * 1024);
  const auto post = [](const std::string& path, const std::string& type) {
    return RequestHead{"POST", path, std::string("100"), "", "", type};
  };
  const auto refused = [&](const RequestHead& head, int status, const std::string& words) {
    const std::optional<Refusal> r = refuse_body(head);
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK_THAT(r->message, Catch::Contains(words));
  };
  CHECK_FALSE(refuse_body(post("/v1/images", "image/png")));
  CHECK_FALSE(refuse_body(post("/v1/segment", "application/json")));
  CHECK_FALSE(refuse_body(post("/v1/segment", "")));
  CHECK_FALSE(refuse_body({"GET", "/v1/health", std::nullopt, "", "", ""}));
  CHECK_FALSE(refuse_body({"DELETE", "/v1/images/ab", std::nullopt, "", "", ""}));  // httplib reads nothing

  RequestHead chunked = post("/v1/images", "image/png");
  chunked.content_length.reset();
  chunked.transfer_encoding = "chunked";
  refused(chunked, 411, "send the body with a Content-Length");
  chunked.method = "DELETE";
  refused(chunked, 411, "Transfer-Encoding 'chunked'");
  RequestHead no_length = post("/v1/images", "image/png");
  no_length.content_length.reset();
  refused(no_length, 411, "POST /v1/images needs a Content-Length");
  RequestHead bad_length = post("/v1/images", "image/png");
  bad_length.content_length = "12abc";
  refused(bad_length, 400, "Content-Length '12abc'");
  bad_length.content_length = "-1";
  refused(bad_length, 400, "Content-Length '-1'");

  for (const std::string encoding : {"gzip", "br", "deflate", "x-gzip, br"}) {
    RequestHead compressed = post("/v1/images", "image/png");
    compressed.content_encoding = encoding;
    refused(compressed, 415, "Content-Encoding '" + encoding + "' is not accepted");
  }
  RequestHead identity = post("/v1/images", "image/png");
  identity.content_encoding = "Identity";
  CHECK_FALSE(refuse_body(identity));

  refused(post("/v1/segment", "application/x-www-form-urlencoded"), 415, "Content-Type: application/json");
  refused(post("/v1/images", "Application/X-WWW-Form-Urlencoded; charset=utf-8"), 415, "image/png");
  refused(post("/v1/images", "multipart/form-data; boundary=x"), 415, "application/octet-stream");
  refused(post("/v1/other", "multipart/mixed"), 415, "no form bodies");
  // A form has a length and no encoding: a route can read it to the end before answering. A chunked,
  // unsized or compressed body is refused unread.
  CHECK(refuse_body(post("/v1/images", "multipart/form-data; boundary=x"))->read_first);
  CHECK_FALSE(refuse_body(chunked)->read_first);
  CHECK_FALSE(refuse_body(no_length)->read_first);
  RequestHead compressed_form = post("/v1/images", "application/x-www-form-urlencoded");
  compressed_form.content_encoding = "gzip";
  CHECK_FALSE(refuse_body(compressed_form)->read_first);

  RequestHead big = post("/v1/images", "image/png");  // sizes are --max-upload-mib's, which httplib checks
  big.content_length = std::to_string(uint64_t(1) << 40);
  CHECK_FALSE(refuse_body(big));
}
