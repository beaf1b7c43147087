// `medsam bench serve`: what a client of `medsam serve` waits for. An in-process server on a free
// localhost port, one synthetic image uploaded (the encoder), then timed segment requests; each answer
// carries the server's own decoder time, so the line splits a request into decoder and the rest
// (JSON, mask encoding, HTTP). Built with cpp-httplib only, like `medsam serve`.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "medsam/core/error.h"
#include "medsam/io/npy.h"
#include "medsam/serve/http_server.h"
#include "medsam/serve/segment_service.h"
#include "tools/bench.h"
#include "tools/cli_checks.h"

namespace medsam::tools {

namespace {

struct ServeBenchOptions {
  serve::ServiceOptions service;
  int64_t image_size = 512;
  int64_t boxes = 1;
  std::string mask_format = "png";
  int iters = 30, warmup = 3;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

nlohmann::json post(httplib::Client& client, const std::string& path, const std::string& body, const std::string& type) {
  auto r = client.Post(path, body, type);
  if (!r) throw Error(fmt::format("bench serve: POST {} failed ({})", path, httplib::to_string(r.error())));
  if (r->status != 200) throw Error(fmt::format("bench serve: POST {} -> {}: {}", path, r->status, r->body));
  return nlohmann::json::parse(r->body);
}

int run_serve_bench(const ServeBenchOptions& o) {
  serve::SegmentService service(o.service);
  serve::HttpOptions http;
  http.port = 0;
  serve::HttpServer server(service, http);
  const int port = server.bind();
  std::thread thread([&] { server.run(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600, 0);

  const int64_t S = o.image_size;
  torch::manual_seed(0);
  const std::string image = format_npy(torch::randint(0, 256, {S, S, 3}, at::kByte));
  auto t0 = Clock::now();
  const nlohmann::json uploaded = post(client, "/v1/images", image, "application/x-npy");
  const double upload_s = seconds_since(t0);
  const double encoder_s = uploaded["encoder_seconds"].get<double>();

  nlohmann::json request{{"image_id", uploaded["image_id"]}, {"mask_format", o.mask_format}, {"boxes", nlohmann::json::array()}};
  for (int64_t i = 0; i < o.boxes; ++i) {
    const double x = double(i % 4) * S / 5, y = double(i / 4 % 4) * S / 5;
    request["boxes"].push_back({x + 1, y + 1, x + S / 4.0, y + S / 4.0});
  }
  const std::string body = request.dump();
  std::vector<double> round_trip, decoder;
  size_t answer_bytes = 0;
  for (int i = 0; i < o.warmup + o.iters; ++i) {
    t0 = Clock::now();
    auto r = client.Post("/v1/segment", body, "application/json");
    const double s = seconds_since(t0);
    if (!r || r->status != 200) throw Error(fmt::format("bench serve: segment failed: {}", r ? r->body : httplib::to_string(r.error())));
    if (i < o.warmup) continue;
    round_trip.push_back(s);
    decoder.push_back(nlohmann::json::parse(r->body)["decoder_seconds"].get<double>());
    answer_bytes = r->body.size();
  }
  server.stop();
  thread.join();
  const double rt = bench::median_of(round_trip), dec = bench::median_of(decoder);
  const auto info = service.info();
  fmt::print("serve {} device={} precision={} threads={} image={}x{} boxes={} mask_format={}: upload {:.3f} s (encoder "
             "{:.3f} s); segment median {:.2f} ms per request = decoder {:.2f} ms + answer and HTTP {:.2f} ms "
             "({:.2f} ms per box), answer {} KiB ({} iters, {} warmup)\n",
             info.arch, info.device, info.precision, torch::get_num_threads(), S, S, o.boxes, o.mask_format, upload_s,
             encoder_s, rt * 1e3, dec * 1e3, (rt - dec) * 1e3, rt * 1e3 / o.boxes, answer_bytes / 1024, o.iters, o.warmup);
  return 0;
}

RunFn add_serve_bench(CLI::App& sub) {
  auto o = std::make_shared<ServeBenchOptions>();
  sub.add_option("--checkpoint", o->service.checkpoint, "SAM/MedSAM weights the server loads")->required();
  sub.add_option("--device", o->service.device, "cpu or cuda[:N]")->capture_default_str();
  sub.add_option("--precision", o->service.precision, "fp32, bf16 or bf16-autocast")->capture_default_str();
  sub.add_option("--image-size", o->image_size, "side of the synthetic RGB image uploaded")->check(CLI::Range(16, 8192))->capture_default_str();
  sub.add_option("--boxes", o->boxes, "boxes per segment request")->check(CLI::Range(1, 256))->capture_default_str();
  sub.add_option("--mask-format", o->mask_format, "png or rle")->check(CLI::IsMember({"png", "rle"}))->capture_default_str();
  sub.add_option("--iters", o->iters, "timed requests")->check(at_least_one())->capture_default_str();
  sub.add_option("--warmup", o->warmup, "untimed requests first")->check(CLI::NonNegativeNumber)->capture_default_str();
  return [o] { return run_serve_bench(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("serve", "medsam serve: upload and segment round trips over localhost HTTP, split into decoder and the rest",
                  add_serve_bench);

}  // namespace medsam::tools
