// Which request bodies `medsam serve` reads, decided from the request line and headers before httplib
// reads a byte of the body (http_server.cpp runs it as httplib's pre-routing handler). httplib 0.11.4
// checks --max-upload-mib only against Content-Length: a chunked body, or one sent without a length,
// it reads to the end, and a gzip/brotli body it inflates without limit (a zip bomb); form bodies it
// parses into query parameters, refusing those over 8 KiB with a 413 that blames --max-upload-mib.
// So: a Content-Length is required, bodies come uncompressed, and forms are refused naming the
// Content-Type the route wants. (/v1/segment's own, smaller limit is counted as its body arrives.)
// A refused body is left unread only where reading it is unsafe (no length, compressed): closing a
// connection with unread bytes makes the kernel reset it, and a client still sending (Python requests
// never waits for "100 Continue") then sees "connection reset" instead of the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace medsam::serve {

struct RequestHead {
  std::string method, path;
  std::optional<std::string> content_length;  // the header's text; nullopt when there is none
  std::string transfer_encoding, content_encoding, content_type;  // "" when absent
};

struct Refusal {
  int status = 0;
  std::string message;
  // The body has a valid Content-Length and no Content-Encoding (a form): a route reading its own body
  // reads this one to the end, drops it, then answers, keeping the connection open.
  bool read_first = false;
};

// nullopt: let httplib read the body (a Content-Length over --max-upload-mib is still its 413; it skips
// that body, keeping the connection usable). Otherwise the status (400, 411, 415) and a message saying
// what to send instead.
std::optional<Refusal> refuse_body(const RequestHead& head);

// The largest /v1/segment body kept: 1 KiB for each prompt --max-prompts and --max-points allow (a box
// written with full doubles takes ~80 bytes), at least 1 MiB. A longer one is refused unparsed (413).
std::uint64_t segment_body_limit(std::int64_t max_prompts, std::int64_t max_points);

}  // namespace medsam::serve
