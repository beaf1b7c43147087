// The one translation unit that sees httplib. Debian's libcpp-httplib is compiled with OpenSSL, zlib
// and brotli support; the header must see the same switches or its classes differ from the library's.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include "medsam/serve/http_server.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <optional>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/serve/api_json.h"
#include "medsam/serve/body_guard.h"
#include "medsam/serve/serve_errors.h"

namespace medsam::serve {

namespace {

constexpr const char* kJson = "application/json";

void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, message), kJson);
}

// Runs a route's body and turns what it throws into the documented status codes.
template <class Fn>
void guarded(httplib::Response& res, Fn&& fn) {
  try {
    fn();
  } catch (const NotFoundError& e) {
    answer_error(res, 404, e.what());
  } catch (const UnsupportedMediaError& e) {
    answer_error(res, 415, e.what());
  } catch (const PayloadTooLargeError& e) {
    answer_error(res, 413, e.what());
  } catch (const UsageError& e) {
    answer_error(res, 400, e.what());
  } catch (const c10::Error& e) {
    // The client gets LibTorch's message without its C++ backtrace (library paths, frames); the log keeps it.
    log_error("serve: internal error: {}", e.what());
    answer_error(res, 500, std::string("internal error: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    log_error("serve: internal error: {}", e.what());
    answer_error(res, 500, std::string("internal error: ") + e.what());
  }
}

RequestHead request_head(const httplib::Request& req) {
  RequestHead head{req.method, req.path, std::nullopt, req.get_header_value("Transfer-Encoding"),
                   req.get_header_value("Content-Encoding"), req.get_header_value("Content-Type")};
  if (req.has_header("Content-Length")) head.content_length = req.get_header_value("Content-Length");
  return head;
}

// The routes registered with a ContentReader below: httplib leaves their bodies to them.
bool reads_own_body(const httplib::Request& req) {
  return req.method == "POST" && (req.path == "/v1/images" || req.path == "/v1/segment");
}

void refuse_unread(httplib::Response& res, const Refusal& refusal) {
  answer_error(res, refusal.status, refusal.message);
  res.set_header("Connection", "close");
}

// A body the pre-routing handler let through to be refused here (a form, with a valid length): read to
// the end and dropped, so that the client, still sending, gets the answer and may send its next request
// on the same connection. True when the request was refused.
bool refused_after_reading(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
  const std::optional<Refusal> refusal = refuse_body(request_head(req));
  if (!refusal) return false;
  const auto drop = [](const char*, size_t) { return true; };
  const bool read_all = req.is_multipart_form_data()
                            ? read([](const httplib::MultipartFormData&) { return true; }, drop)
                            : read(drop);
  if (read_all) {
    answer_error(res, refusal->status, refusal->message);
  } else {  // over --max-upload-mib (httplib's 413, body skipped) or a malformed multipart body (unread)
    refuse_unread(res, *refusal);
  }
  return true;
}

// modality / window / intensity query parameters -> the rule `medsam prep` and `medsam infer` use.
data::IntensitySpec intensity_from_query(const httplib::Request& req) {
  for (const auto& [key, value] : req.params)
    if (key != "modality" && key != "window" && key != "intensity")
      throw UsageError(fmt::format("unknown query parameter '{}' (expected modality, window, intensity)", key));
  data::IntensitySpec spec;
  if (req.has_param("modality")) spec.modality = req.get_param_value("modality");
  if (req.has_param("window")) spec.window = req.get_param_value("window");
  if (req.has_param("intensity")) spec.mode = req.get_param_value("intensity");
  return spec;
}

}  // namespace

struct HttpServer::Impl {
  Impl(SegmentService& s, HttpOptions o) : service(s), options(std::move(o)) {}
  SegmentService& service;
  HttpOptions options;
  httplib::Server server;
  int port = -1;
  std::atomic<bool> stop_requested{false};
};

HttpServer::HttpServer(SegmentService& service, HttpOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {
  auto& s = impl_->server;
  const int threads = std::max(1, impl_->options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and take half of
  // its connections: two `medsam serve` with different checkpoints would answer at random. SO_REUSEADDR
  // alone (quick restarts past TIME_WAIT) makes a busy port an error instead.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_payload_max_length(static_cast<size_t>(impl_->options.max_upload_mib) * 1024 * 1024);
  SegmentService& svc = impl_->service;
  // Before httplib reads a body: what its payload limit misses (serve/body_guard.h). A body refused here
  // stays unread, so the answer asks the client to close: httplib would read its bytes as the next
  // request. A form sent to a route that reads its own body is refused by that route instead, after
  // reading it (refused_after_reading).
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    const std::optional<Refusal> refusal = refuse_body(request_head(req));
    if (!refusal || (refusal->read_first && reads_own_body(req))) return httplib::Server::HandlerResponse::Unhandled;
    refuse_unread(res, *refusal);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A client that waits for "100 Continue" before sending (curl does for large and chunked bodies) gets
  // the refusal instead, and never sends the body.
  s.set_expect_100_continue_handler([](const httplib::Request& req, httplib::Response& res) {
    const std::optional<Refusal> refusal = refuse_body(request_head(req));
    if (!refusal) return 100;
    refuse_unread(res, *refusal);
    return res.status;
  });
  if (!impl_->options.cors_origin.empty()) {
    s.set_default_headers({{"Access-Control-Allow-Origin", impl_->options.cors_origin},
                           {"Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"},
                           {"Access-Control-Allow-Headers", "Content-Type"},
                           {"Vary", "Origin"}});
    s.Options(R"(/v1/.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  }

  s.Get("/v1/health", [&svc](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] { res.set_content(info_json(svc.info()), kJson); });
  });
  s.Post("/v1/images", [&svc](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    guarded(res, [&] {
      if (refused_after_reading(req, res, read)) return;
      std::string body;
      if (!read([&](const char* data, size_t n) {
            body.append(data, n);
            return true;
          }))
        return;  // httplib set 413 (over --max-upload-mib) or 400; the error handler words it
      const ImageInfo info = svc.add_image(body, req.get_header_value("Content-Type"), intensity_from_query(req));
      res.set_content(image_answer_json(info), kJson);
    });
  });
  s.Delete(R"(/v1/images/([^/]+))", [&svc](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const std::string id = req.matches[1];
      if (!svc.remove_image(id)) throw NotFoundError(fmt::format("image {} is not in the store", id));
      res.status = 204;
    });
  });
  // Prompts are parsed as a whole, so the body is read here rather than by httplib: kept up to the route's
  // limit, and past it read to the end but dropped, so that the client, still sending, gets the 413.
  const std::uint64_t segment_bytes = segment_body_limit(svc.options().max_prompts, svc.options().max_points);
  s.Post("/v1/segment", [&svc, segment_bytes](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& read) {
    guarded(res, [&] {
      if (refused_after_reading(req, res, read)) return;
      std::string body;
      std::uint64_t received = 0;
      const bool complete = read([&](const char* data, size_t n) {
        received += n;
        if (received <= segment_bytes) body.append(data, n);
        return true;
      });
      if (!complete) return;  // httplib set 413 (over --max-upload-mib) or 400; the error handler words it
      if (received > segment_bytes)
        throw PayloadTooLargeError(fmt::format(
            "the /v1/segment body is {} bytes, more than the {} this server reads for one request (1 KiB per "
            "prompt --max-prompts and --max-points allow, at least 1 MiB)",
            received, segment_bytes));
      const SegmentCall call = parse_segment_call(body);
      res.set_content(segment_answer_json(call.request.image_id, svc.segment(call.request), call.format), kJson);
    });
  });
  // Routes that do not exist, bodies over the limit, ...: httplib sets the status, we give it a JSON body.
  // httplib calls this for every status >= 400, also those a route answered with its own message.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message =
        res.status == 404   ? fmt::format("no route {} {} (see GET /v1/health, POST /v1/images, POST /v1/segment)", req.method, req.path)
        : res.status == 413 ? "the request body is over the limit (--max-upload-mib)"
                            : fmt::format("HTTP {}", res.status);
    res.set_content(error_json(res.status, message), kJson);
  });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // Routes reading their own body leave req.body empty: the Content-Length says what came.
    const auto bytes_in = req.body.empty() ? std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10)
                                           : req.body.size();
    log_info("serve: {} {} {} -> {} ({} bytes in, {} out)", req.remote_addr, req.method, req.path, res.status, bytes_in,
             res.body.size());
  });
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  auto& o = impl_->options;
  if (o.port == 0) {
    impl_->port = impl_->server.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->server.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port < 0) throw Error(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port));
  return impl_->port;
}

void HttpServer::run() {
  if (impl_->port < 0) throw Error("HttpServer::run before bind");
  if (!impl_->stop_requested) impl_->server.listen_after_bind();
}

void HttpServer::stop() {
  impl_->stop_requested = true;
  impl_->server.stop();  // a no-op until run() is listening: see is_running()
}

bool HttpServer::is_running() const { return impl_->server.is_running(); }

}  // namespace medsam::serve
