// `medsam serve`: flags -> medsam::serve::SegmentService + HttpServer (medsam/serve/), and a clean
// stop on SIGINT/SIGTERM (in-flight requests finish, the process exits 0).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/io/atomic_file.h"
#include "medsam/serve/http_server.h"
#include "medsam/serve/segment_service.h"
#include "medsam/train/stop_signal.h"
#include "tools/cli_checks.h"
#include "tools/command.h"

namespace medsam::tools {

namespace {
struct ServeFlags {
  serve::ServiceOptions service;
  serve::HttpOptions http;
  std::string port_file;
};

// SIGINT/SIGTERM/SIGUSR1: the trainer's handlers (medsam/train/stop_signal.h) only record the signal; a
// watcher thread sees it and stops the server from ordinary code (httplib's stop is not
// async-signal-safe). A second Ctrl-C still kills a stuck process.
class StopOnSignal {
 public:
  explicit StopOnSignal(serve::HttpServer& server) {
    train::clear_stop_request();
    train::install_stop_handlers();
    watcher_ = std::thread([this, &server] {
      while (!done_ && train::stop_requested() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (done_) return;
      log_info("serve: {} received, stopping (in-flight requests finish first)", train::signal_name(train::stop_requested()));
      // Repeated: a stop that lands before the server is listening would be lost.
      while (!done_) {
        server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~StopOnSignal() {
    done_ = true;
    watcher_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread watcher_;
};
}  // namespace

RunFn add_serve_command(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Serve the model over HTTP: upload images, send boxes, get masks");
  sub->footer(
      "API (docs/serving.md): GET /v1/health, POST /v1/images (image bytes -> image_id), POST /v1/segment\n"
      "(JSON: image_id, boxes, points, mask_format), DELETE /v1/images/<id>.\n"
      "Examples:\n"
      "  medsam serve --checkpoint medsam_vit_b.pth --port 8080\n"
      "  curl -s --data-binary @slice.png -H 'Content-Type: image/png' localhost:8080/v1/images\n"
      "  curl -s -H 'Content-Type: application/json' -d '{\"image_id\":\"<id>\",\"boxes\":[[40,50,90,95]]}' \\\n"
      "       localhost:8080/v1/segment\n"
      "No authentication or TLS: bind to localhost (the default) or put it behind a reverse proxy.");
  auto f = std::make_shared<ServeFlags>();
  auto& s = f->service;
  sub->add_option("--checkpoint", s.checkpoint, "SAM/MedSAM weights (.pth or .safetensors)")->required();
  sub->add_option("--arch", s.arch, "auto (from the checkpoint's shapes), tiny, vit_b, vit_l or vit_h")->capture_default_str();
  sub->add_option("--device", s.device, "cpu or cuda[:N]")->capture_default_str();
  sub->add_option("--precision", s.precision, "fp32, bf16 or bf16-autocast (as medsam infer)")->capture_default_str();
  sub->add_option("--store-mib", s.store_mib, "MiB of image embeddings kept (ViT-B: 4 MiB per image); least recently used out first")
      ->check(at_least_one())
      ->capture_default_str();
  sub->add_option("--max-prompts", s.max_prompts, "boxes per segment request")->check(at_least_one())->capture_default_str();
  sub->add_option("--max-points", s.max_points, "points per segment request")->check(at_least_one())->capture_default_str();
  sub->add_option("--max-image-pixels", s.max_image_pixels,
                  "largest upload, height x width (checked on the file's header before decoding)")
      ->check(at_least_one())
      ->capture_default_str();
  sub->add_option("--max-mask-pixels", s.max_mask_pixels,
                  "most mask pixels one segment answer holds (boxes x masks x height x width)")
      ->check(at_least_one())
      ->capture_default_str();
  sub->add_option("--host", f->http.host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  sub->add_option("--port", f->http.port, "TCP port; 0 picks a free one (see --port-file)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sub->add_option("--port-file", f->port_file, "write the port listened on to this file once listening");
  sub->add_option("--max-upload-mib", f->http.max_upload_mib,
                  "largest request body accepted (413 above; bodies need a Content-Length and no Content-Encoding)")
      ->check(at_least_one())
      ->capture_default_str();
  sub->add_option("--cors-origin", f->http.cors_origin,
                  "let browser pages from this origin call the API (e.g. https://viewer.example.org, or * for any)");
  sub->add_option("--http-threads", f->http.threads, "connections served at once")->check(at_least_one())->capture_default_str();

  return [f]() {
    log_info("serve: loading {}", f->service.checkpoint);
    serve::SegmentService service(f->service);
    serve::HttpServer server(service, f->http);
    const int port = server.bind();
    {
      StopOnSignal stop_on_signal(server);
      if (!f->port_file.empty()) write_file_atomically(f->port_file, fmt::format("{}\n", port));
      const auto info = service.info();
      log_info("serve: {} ({}, {}) on http://{}:{}/v1/ — Ctrl-C or SIGTERM stops", info.checkpoint, info.arch,
               info.device, f->http.host, port);
      const std::string& host = f->http.host;
      if (host != "127.0.0.1" && host != "localhost" && host != "::1")
        log_warn("serve: listening on {} without authentication or TLS: anyone who reaches this port can upload "
                 "images and read masks; put an authenticating proxy in front (docs/serving.md)", host);
      server.run();
    }
    log_info("serve: stopped");
    return 0;
  };
}

}  // namespace medsam::tools
