// `medsam serve`'s HTTP front (cpp-httplib): routes, status codes, request limits and a log line per
// request, over a SegmentService. httplib itself stays inside http_server.cpp.
//
//   GET    /v1/health            model, device and store statistics
//   POST   /v1/images            body: PNG/JPEG/TIFF/BMP or .npy bytes; query: modality, window,
//                                intensity -> {"image_id", "height", "width", "cached", ...}
//   POST   /v1/segment           JSON prompts (api_json.h) -> masks
//   DELETE /v1/images/<id>       drop an embedding from the store
//
// Errors answer {"error": "...", "status": N}: 400 malformed request, 404 unknown image or route,
// 411 a body without Content-Length (chunked), 413 body over the limit, 415 not an image we read, a
// compressed body or a form, 500 anything else (logged). Bodies are vetted before they are read
// (body_guard.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "medsam/serve/segment_service.h"

namespace medsam::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (bind() says which)
  int64_t max_upload_mib = 256;
  int threads = 4;            // connections served at once (the model still runs one request at a time)
  // Browser clients on another origin (a web viewer): the origin allowed by CORS headers on every answer,
  // with OPTIONS preflights answered 204. "" sends no CORS headers (browsers then refuse cross-origin calls).
  std::string cors_origin;
};

class HttpServer {
 public:
  HttpServer(SegmentService& service, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the socket; returns the port. Throws Error naming host and port when that fails.
  int bind();
  // Serves until stop(); call after bind().
  void run();
  // Safe from another thread; run() returns once in-flight requests finish. A stop() before run() makes
  // run() return at once; one that races run()'s start may be missed: callers stopping from another
  // thread repeat it until run() has returned (tools/serve_http.cpp).
  void stop();
  bool is_running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsam::serve
