#include "medsam/serve/body_guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace medsam::serve {

namespace {

// "Gzip " -> "gzip"; "multipart/form-data; boundary=x" -> "multipart/form-data".
std::string bare_lower(const std::string& value) {
  std::string t = value.substr(0, value.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool has_body(const std::string& method) {  // httplib reads a body for these (detail::expect_content)
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::optional<std::uint64_t> parse_length(const std::string& text) {
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  return std::stoull(text);
}

std::string form_refusal(const std::string& path, const std::string& content_type) {
  if (path == "/v1/segment")
    return fmt::format("Content-Type '{}' is not read by /v1/segment: send the JSON with Content-Type: application/json "
                       "(curl -d sends a form type: add -H 'Content-Type: application/json')",
                       content_type);
  if (path == "/v1/images")
    return fmt::format("Content-Type '{}' is not read by /v1/images: send the file's bytes as image/png, image/jpeg, "
                       "image/tiff, image/bmp, application/x-npy or application/octet-stream "
                       "(curl: --data-binary @slice.png -H 'Content-Type: image/png')",
                       content_type);
  return fmt::format("Content-Type '{}': this server reads no form bodies", content_type);
}

}  // namespace

std::optional<Refusal> refuse_body(const RequestHead& head) {
  if (!has_body(head.method)) return std::nullopt;
  if (!head.transfer_encoding.empty())
    return Refusal{411, fmt::format("Transfer-Encoding '{}' is not accepted: send the body with a Content-Length "
                                    "header (its size is checked against the limit before it is read)",
                                    head.transfer_encoding)};
  const std::string encoding = bare_lower(head.content_encoding);
  if (!encoding.empty() && encoding != "identity")
    return Refusal{415, fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed (a compressed "
                                    "body could inflate past --max-upload-mib; PNG and JPEG are compressed already)",
                                    head.content_encoding)};
  if (!head.content_length) {
    if (head.method == "DELETE") return std::nullopt;  // httplib reads no body then
    return Refusal{411, fmt::format("{} {} needs a Content-Length header", head.method, head.path)};
  }
  if (!parse_length(*head.content_length)) return Refusal{400, fmt::format("Content-Length '{}' is not a number of bytes", *head.content_length)};
  const std::string type = bare_lower(head.content_type);
  if (type == "application/x-www-form-urlencoded" || type.rfind("multipart/", 0) == 0)
    return Refusal{415, form_refusal(head.path, head.content_type), true};
  return std::nullopt;
}

std::uint64_t segment_body_limit(std::int64_t max_prompts, std::int64_t max_points) {
  const auto count = [](std::int64_t n) { return std::uint64_t(std::clamp<std::int64_t>(n, 0, std::int64_t(1) << 40)); };
  return std::max<std::uint64_t>(std::uint64_t(1) << 20, (count(max_prompts) + count(max_points)) * 1024);
}

}  // namespace medsam::serve
