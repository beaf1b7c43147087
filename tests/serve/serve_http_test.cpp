// `medsam serve` end to end on the sam_tiny fixture: the service answers exactly what the Predictor
// answers, the store keeps and drops embeddings as documented, and over HTTP every documented status
// code comes with a JSON error naming the problem. Also the command itself: --port 0, SIGTERM.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <utility>

#include "medsam/core/base64.h"
#include "medsam/data/normalize.h"
#include "medsam/infer/predictor.h"
#include "medsam/io/image.h"
#include "medsam/io/npy.h"
#include "medsam/model/load_sam.h"
#include "medsam/serve/http_server.h"
#include "medsam/serve/mask_encoding.h"
#include "medsam/serve/segment_service.h"
#include "medsam/serve/serve_errors.h"
#include "tests/support/fixtures.h"

using namespace medsam;
using nlohmann::json;

namespace {

const std::string kCase = test::fixture("sam_tiny/case_z70");
const std::array<double, 4> kBox{46.67, 50.73, 86.28, 89.66};  // case_z70/prompt.json

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

serve::ServiceOptions tiny_options(int64_t store_mib = 64) {
  serve::ServiceOptions o;
  o.checkpoint = test::tiny_checkpoint();
  o.store_mib = store_mib;
  return o;
}

// The Predictor's masks for the same image and boxes: what the service must reproduce exactly.
at::Tensor predictor_masks(const at::Tensor& raw, const data::IntensitySpec& spec, const at::Tensor& boxes) {
  infer::Predictor predictor(load_sam(test::tiny_checkpoint()).model, c10::kCPU);
  predictor.set_image(data::normalize_for(raw, spec).data);
  infer::ImagePrompts prompts;
  prompts.boxes = boxes;
  return predictor.predict(prompts).masks.select(1, 0);
}

// An HttpServer on a free localhost port, serving from its own thread for the test's lifetime.
struct RunningServer {
  serve::HttpServer server;
  int port;
  std::thread thread;
  RunningServer(serve::SegmentService& service, serve::HttpOptions options)
      : server(service, (options.port = 0, options)), port(server.bind()), thread([this] { server.run(); }) {
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~RunningServer() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
};

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

// The answer's status, JSON content type, and a JSON error naming `words`.
void expect_json_error(const httplib::Result& r, int status, const std::string& words) {
  INFO("expected " << status << " naming " << words << "; client error: " << httplib::to_string(r.error()));
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  const json e = json::parse(r->body);
  CHECK(e.value("status", 0) == status);
  CHECK_THAT(e.value("error", std::string()), Catch::Contains(words));
}

// `request` written as is to a fresh connection; the first answer, read up to its Content-Length. For
// requests httplib's client would not send (a body without a length). The sending side stays open:
// httplib writes nothing to a peer it finds closed.
// A client socket to the server, writing bytes as given and reading one answer at a time.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{60, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False when the server reset or closed the connection before taking it all.
  bool send(const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += size_t(n);
    }
    return true;
  }
  // The next answer, read up to its Content-Length ("" or a partial answer when the connection ended first).
  std::string answer() {
    for (;;) {
      const size_t end = pending_.find("\r\n\r\n"), length_at = pending_.find("Content-Length: ");
      if (end != std::string::npos && length_at < end) {
        const size_t total = end + 4 + std::stoul(pending_.substr(length_at + 16));
        if (pending_.size() >= total) {
          std::string one = pending_.substr(0, total);
          pending_.erase(0, total);
          return one;
        }
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return std::exchange(pending_, std::string());
      pending_.append(buf, size_t(n));
    }
  }

 private:
  int fd_;
  std::string pending_;
};

std::string raw_exchange(int port, const std::string& request) {
  RawConnection connection(port);
  connection.send(request);
  return connection.answer();
}

// The PNG with its IHDR saying width x height (CRC recomputed, so a decoder trusts it); the pixel data
// stays the small image's.
std::string with_png_size(std::string png, uint32_t width, uint32_t height) {
  REQUIRE(png.compare(12, 4, "IHDR") == 0);
  const auto put32 = [&](size_t pos, uint32_t v) {
    for (int k = 0; k < 4; ++k) png[pos + k] = char(v >> (24 - 8 * k));
  };
  put32(16, width);
  put32(20, height);
  put32(29, uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  return png;
}

}  // namespace

TEST_CASE("the service answers a box exactly as the Predictor does, encoding each image once", "[serve]") {
  serve::SegmentService service(tiny_options());
  const std::string png = file_bytes(kCase + "/image.png");
  const serve::ImageInfo first = service.add_image(png, "image/png", {});
  CHECK(first.height == 256);
  CHECK(first.width == 256);
  CHECK_FALSE(first.cached);
  const serve::ImageInfo again = service.add_image(png, "image/png", {});
  CHECK(again.cached);
  CHECK(again.id == first.id);
  CHECK(service.info().store.images == 1);
  CHECK(service.info().store.hits == 1);

  serve::SegmentRequest request{first.id, {kBox, {10, 10, 60, 40}}, {}};
  const serve::SegmentResult result = service.segment(request);
  REQUIRE(result.masks.size() == 2);
  const at::Tensor expected = predictor_masks(io::read_image(kCase + "/image.png"), {},
                                              torch::tensor({{46.67f, 50.73f, 86.28f, 89.66f}, {10.f, 10.f, 60.f, 40.f}}));
  for (int i = 0; i < 2; ++i) {
    CHECK(torch::equal(result.masks[i].mask, expected[i]));
    CHECK(result.masks[i].area == expected[i].sum().item<int64_t>());
  }
  CHECK(result.masks[0].area > 100);
  // The decoder's IoU prediction for the fixture box (case_z70/iou.npy).
  CHECK(result.masks[0].score == Approx(read_npy(kCase + "/iou.npy").flatten()[0].item<double>()).margin(1e-4));

  // multimask: SAM's three candidates (the fixture's multimask_iou.npy for this box), the best one on top.
  const serve::SegmentResult multi = service.segment({first.id, {kBox}, {}, true});
  REQUIRE(multi.masks.size() == 1);
  const serve::PromptMask& best = multi.masks[0];
  REQUIRE(best.candidates.size() == 3);
  const at::Tensor reference_iou = read_npy(kCase + "/multimask_iou.npy").flatten();
  for (int k = 0; k < 3; ++k) CHECK(best.candidates[k].score == Approx(reference_iou[k].item<double>()).margin(1e-4));
  const int64_t top = reference_iou.argmax().item<int64_t>();
  CHECK(best.score == best.candidates[top].score);
  CHECK(torch::equal(best.mask, best.candidates[top].mask));

  CHECK_THROWS_WITH(service.segment({first.id, {{0, 0, 300, 10}}, {}}), Catch::Contains("outside the 256x256 image"));
  CHECK_THROWS_WITH(service.segment({first.id, {}, {}}), Catch::Contains("'boxes' or 'points'"));
  CHECK(service.remove_image(first.id));
  CHECK_FALSE(service.remove_image(first.id));
  CHECK_THROWS_AS(service.segment(request), serve::NotFoundError);
}

TEST_CASE("the service refuses more points, a larger image and more mask pixels than its limits, naming the option",
          "[serve]") {
  serve::ServiceOptions o = tiny_options();
  o.max_points = 2;
  o.max_image_pixels = 256 * 256;     // the fixture image exactly
  o.max_mask_pixels = 2 * 256 * 256;  // two full-size masks
  serve::SegmentService service(o);
  const std::string png = file_bytes(kCase + "/image.png");
  const serve::ImageInfo info = service.add_image(png, "image/png", {});
  CHECK(service.segment({info.id, {kBox, kBox}, {}}).masks.size() == 2);
  CHECK_THROWS_WITH(service.segment({info.id, {kBox, kBox, kBox}, {}}),
                    Catch::Contains("3 masks of 256x256 pixels") && Catch::Contains("--max-mask-pixels"));
  CHECK_THROWS_WITH(service.segment({info.id, {kBox}, {}, /*multimask=*/true}), Catch::Contains("--max-mask-pixels"));
  CHECK_THROWS_WITH(service.segment({info.id, {}, {{5, 5, 1}, {6, 6, 1}, {7, 7, 0}}}),
                    Catch::Contains("3 points") && Catch::Contains("at most 2 (--max-points)"));
  o.max_image_pixels = 256 * 256 - 1;
  serve::SegmentService smaller(o);
  CHECK_THROWS_WITH(smaller.add_image(png, "image/png", {}),
                    Catch::Contains("256x256 pixels") && Catch::Contains("--max-image-pixels"));
}

TEST_CASE("a CT slice sent as .npy is windowed by the query's rule, and the rule is part of the id", "[serve]") {
  serve::SegmentService service(tiny_options());
  // Hounsfield units: the fixture slice's grey levels stretched to -1000..1000.
  const at::Tensor grey = io::read_image(kCase + "/image.png").select(2, 0).to(at::kFloat);
  const at::Tensor hu = (grey / 255.0 * 2000.0 - 1000.0).contiguous();
  data::IntensitySpec ct;
  ct.modality = "ct";
  ct.window = "40,400";
  const serve::ImageInfo windowed = service.add_image(format_npy(hu), "application/x-npy", ct);
  CHECK_THAT(windowed.intensity, Catch::Contains("L40 W400"));
  data::IntensitySpec lung = ct;
  lung.window = "lung";
  const serve::ImageInfo lung_info = service.add_image(format_npy(hu), "application/x-npy", lung);
  CHECK(lung_info.id != windowed.id);
  CHECK_FALSE(lung_info.cached);

  const serve::SegmentResult r = service.segment({windowed.id, {kBox}, {}});
  CHECK(torch::equal(r.masks.at(0).mask, predictor_masks(hu, ct, torch::tensor({{46.67f, 50.73f, 86.28f, 89.66f}}))[0]));
}

TEST_CASE("the store drops the least recently used embedding past --store-mib", "[serve]") {
  serve::SegmentService service(tiny_options(1));  // tiny: 32 KiB per embedding, 32 fit
  torch::manual_seed(0);
  std::vector<std::string> ids;
  for (int i = 0; i < 34; ++i)
    ids.push_back(service.add_image(format_npy(torch::rand({32, 32})), "", {}).id);
  const serve::StoreStats s = service.info().store;
  CHECK(s.images == 32);
  CHECK(s.evictions == 2);
  CHECK(s.bytes <= s.capacity);
  CHECK_THROWS_WITH(service.segment({ids[0], {{1, 1, 20, 20}}, {}}), Catch::Contains("not in the store"));
  CHECK(service.segment({ids[2], {{1, 1, 20, 20}}, {}}).masks.size() == 1);
  CHECK(service.segment({ids[33], {}, {{16, 16, 1}}}).masks.size() == 1);  // points: one mask
}

TEST_CASE("HTTP: upload, segment as PNG and RLE, delete, and every error as JSON", "[serve]") {
  serve::SegmentService service(tiny_options());
  serve::HttpOptions options;
  options.max_upload_mib = 1;
  RunningServer running(service, options);
  auto client = running.client();

  const json health = body_of(client.Get("/v1/health"));
  CHECK(health["status"] == "ok");
  CHECK(health["model"]["arch"] == "tiny");
  CHECK(health["model"]["img_size"] == 256);

  const std::string png = file_bytes(kCase + "/image.png");
  auto uploaded = client.Post("/v1/images", png, "image/png");
  REQUIRE(uploaded);
  CHECK(uploaded->status == 200);
  const std::string id = body_of(uploaded)["image_id"];

  const at::Tensor expected = predictor_masks(io::read_image(kCase + "/image.png"), {}, torch::tensor({{46.67f, 50.73f, 86.28f, 89.66f}}))[0];
  const json request{{"image_id", id}, {"boxes", {kBox}}};
  auto as_png = client.Post("/v1/segment", request.dump(), "application/json");
  REQUIRE(as_png);
  CHECK(as_png->status == 200);
  const json answer = body_of(as_png);
  REQUIRE(answer["masks"].size() == 1);
  const std::string mask_png = base64_decode(answer["masks"][0]["png"].get<std::string>());
  const at::Tensor decoded = io::decode_image(reinterpret_cast<const std::uint8_t*>(mask_png.data()), mask_png.size());
  CHECK(torch::equal(decoded.squeeze(2), expected * 255));
  CHECK(answer["masks"][0]["area"] == expected.sum().item<int64_t>());

  json rle_request = request;
  rle_request["mask_format"] = "rle";
  const json rle_answer = body_of(client.Post("/v1/segment", rle_request.dump(), "application/json"));
  const json& rle = rle_answer["masks"][0]["rle"];
  CHECK(rle["size"] == json::array({256, 256}));
  CHECK(torch::equal(serve::rle_to_mask({256, 256, rle["counts"].get<std::vector<int64_t>>()}), expected));
  json multi_request = rle_request;
  multi_request["multimask"] = true;
  const json multi = body_of(client.Post("/v1/segment", multi_request.dump(), "application/json"));
  CHECK(multi["masks"][0]["candidates"].size() == 3);
  CHECK(multi["masks"][0]["candidates"][0].contains("rle"));
  CHECK_FALSE(rle_answer["masks"][0].contains("candidates"));

  // Errors: status and a JSON body that says what is wrong.
  const auto expect_error = expect_json_error;
  expect_error(client.Post("/v1/segment", std::string("{\"image_id\": 3}"), "application/json"), 400, "'image_id'");
  expect_error(client.Post("/v1/segment", json{{"image_id", id}, {"boxes", {{0, 0, 300, 20}}}}.dump(), "application/json"), 400,
               "outside the 256x256 image");
  expect_error(client.Post("/v1/segment", json{{"image_id", std::string(64, '0')}, {"boxes", {kBox}}}.dump(), "application/json"),
               404, "not in the store");
  expect_error(client.Post("/v1/images", std::string("GIF89a-not-ours"), "image/gif"), 415, "no PNG, JPEG");
  expect_error(client.Post("/v1/images", png, "image/jpeg"), 415, "Content-Type says 'image/jpeg'");
  expect_error(client.Post("/v1/images", png.substr(0, png.size() / 2), "image/png"), 400, "the uploaded image/png");
  expect_error(client.Post("/v1/images?window=lung&colour=1", png, "image/png"), 400, "unknown query parameter 'colour'");
  expect_error(client.Post("/v1/images?modality=mr&window=lung", png, "image/png"), 400, "window");
  expect_error(client.Post("/v1/images", std::string(1024 * 1024 + 1, 'x'), "image/png"), 413, "--max-upload-mib");
  expect_error(client.Get("/v1/nothing"), 404, "no route GET /v1/nothing");

  auto removed = client.Delete(("/v1/images/" + id).c_str());
  REQUIRE(removed);
  CHECK(removed->status == 204);
  expect_error(client.Delete(("/v1/images/" + id).c_str()), 404, "not in the store");
  expect_error(client.Post("/v1/segment", request.dump(), "application/json"), 404, "POST it to /v1/images again");
}

TEST_CASE("a small file declaring a huge image is refused from its header, before it is decoded", "[serve]") {
  // 20000 x 20000 in a 50 KB file: the decoder would allocate the 1.2 GB of pixels before finding the
  // data short. Refused naming the limit, not "cannot decode".
  const std::string huge = with_png_size(file_bytes(kCase + "/image.png"), 20000, 20000);
  serve::SegmentService service(tiny_options());
  CHECK_THROWS_WITH(service.add_image(huge, "image/png", {}),
                    Catch::Contains("20000x20000 pixels") && Catch::Contains("--max-image-pixels"));
  CHECK(service.info().store.images == 0);
  RunningServer running(service, {});
  expect_json_error(running.client().Post("/v1/images", huge, "image/png"), 400, "--max-image-pixels");
  // An image within the limit still decodes (the header says 256 x 256, as the pixels do).
  CHECK(body_of(running.client().Post("/v1/images", file_bytes(kCase + "/image.png"), "image/png"))["width"] == 256);
}

TEST_CASE("HTTP: a form body is read before it is refused, so that a client still sending gets the answer", "[serve]") {
  serve::SegmentService service(tiny_options());
  serve::HttpOptions options;
  options.max_upload_mib = 8;
  RunningServer running(service, options);
  // 6 MiB sent without waiting for "100 Continue" (as Python's requests does): more than the socket
  // buffers hold, so a server that answered and closed with it unread would reset the connection while
  // the client is still writing. Read to the end, the answer comes and the connection stays open.
  const std::string form = "file=" + std::string(6u * 1024 * 1024, 'a');
  const std::string form_head =
      "POST /v1/images HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " + std::to_string(form.size()) + "\r\n\r\n";
  RawConnection connection(running.port);
  bool sent_all = false;
  std::thread sender([&] { sent_all = connection.send(form_head + form); });
  const std::string refused = connection.answer();
  sender.join();
  CHECK(sent_all);
  CHECK_THAT(refused, Catch::StartsWith("HTTP/1.1 415") && Catch::Contains("image/png, image/jpeg"));
  CHECK_THAT(refused, !Catch::Contains("Connection: close"));
  // The same connection serves the next request.
  REQUIRE(connection.send("GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  CHECK_THAT(connection.answer(), Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("\"status\":\"ok\""));

  // multipart, as requests.post(files=...) sends it, to either route.
  const std::string boundary = "b0undary";
  const std::string multipart = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.png\"\r\n"
                                "Content-Type: image/png\r\n\r\n" + std::string(3u * 1024 * 1024, 'p') + "\r\n--" +
                                boundary + "--\r\n";
  for (const std::string path : {"/v1/images", "/v1/segment"}) {
    INFO(path);
    RawConnection c(running.port);
    bool all = false;
    std::thread s([&] {
      all = c.send("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=" +
                   boundary + "\r\nContent-Length: " + std::to_string(multipart.size()) + "\r\n\r\n" + multipart);
    });
    const std::string answer = c.answer();
    s.join();
    CHECK(all);
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 415") && Catch::Contains("is not read by " + path));
    REQUIRE(c.send("GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK_THAT(c.answer(), Catch::StartsWith("HTTP/1.1 200"));
  }
  // Past --max-upload-mib: httplib skips the body, and the refusal still names the form.
  const std::string big_head =
      "POST /v1/segment HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " + std::to_string(9u * 1024 * 1024) + "\r\n\r\n";
  RawConnection big(running.port);
  std::thread big_sender([&] { big.send(big_head + std::string(9u * 1024 * 1024, 'a')); });
  CHECK_THAT(big.answer(), Catch::StartsWith("HTTP/1.1 415") && Catch::Contains("Content-Type: application/json"));
  big_sender.join();
  // Uploads in the right form still work.
  CHECK(body_of(running.client().Post("/v1/images", file_bytes(kCase + "/image.png"), "image/png"))["width"] == 256);
}

TEST_CASE("HTTP: bodies httplib's payload limit misses are refused before they are read", "[serve]") {
  serve::SegmentService service(tiny_options());
  serve::HttpOptions options;
  options.max_upload_mib = 2;
  RunningServer running(service, options);
  auto client = running.client();
  const std::string png = file_bytes(kCase + "/image.png");

  // Chunked: httplib checks its limit against Content-Length only, and reads a chunked body of any size
  // (this one it would have decoded: a valid PNG). Small, so that the client has sent it all before the
  // server gives up on the connection (docs/serving.md: a client streaming tens of MiB may miss the answer).
  auto chunked = client.Post(
      "/v1/images",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset >= png.size()) {
          sink.done();
          return true;
        }
        return sink.write(png.data() + offset, std::min<size_t>(png.size() - offset, 4096));
      },
      "image/png");
  expect_json_error(chunked, 411, "send the body with a Content-Length");
  CHECK(chunked->get_header_value("Connection") == "close");  // its body is left unread
  // The same client goes on: it reconnects, and the unread body is not taken for its next request.
  CHECK(body_of(client.Get("/v1/health"))["status"] == "ok");

  // A body without Content-Length or chunks: httplib reads it until the client closes.
  const std::string no_length = raw_exchange(
      running.port, "POST /v1/images HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n\r\n" + png);
  CHECK_THAT(no_length, Catch::StartsWith("HTTP/1.1 411") && Catch::Contains("POST /v1/images needs a Content-Length"));
  // A client waiting for "100 Continue" (curl, for large or chunked bodies) is refused instead, before it sends.
  const std::string expecting = raw_exchange(running.port,
                                             "POST /v1/images HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n"
                                             "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  CHECK_THAT(expecting, Catch::StartsWith("HTTP/1.1 411") && Catch::Contains("Transfer-Encoding 'chunked'"));

  // gzip: 8 MiB of zeros travel as 8 KB, and httplib would inflate them without a limit.
  httplib::Client zipping = running.client();
  zipping.set_compress(true);
  expect_json_error(zipping.Post("/v1/images", std::string(8u * 1024 * 1024, '\0'), "image/png"), 415,
                    "Content-Encoding 'gzip' is not accepted");

  // curl -d's form type: httplib parses the body into query parameters and refuses more than 8 KiB of it
  // with a 413 that blamed --max-upload-mib.
  const std::string id(64, 'a');
  json many_boxes{{"image_id", id}, {"boxes", json::array()}};
  for (int i = 0; i < 800; ++i) many_boxes["boxes"].push_back({1, 2, 30, 40});
  REQUIRE(many_boxes.dump().size() > 9000);
  expect_json_error(client.Post("/v1/segment", many_boxes.dump(), "application/x-www-form-urlencoded"), 415,
                    "Content-Type: application/json");
  expect_json_error(client.Post("/v1/images", png.substr(0, 2000), "application/x-www-form-urlencoded"), 415,
                    "image/png, image/jpeg");
  expect_json_error(client.Post("/v1/images", httplib::MultipartFormDataItems{{"file", png, "slice.png", "image/png"}}), 415,
                    "not read by /v1/images");

  // /v1/segment is parsed whole: a body over 1 MiB (--max-prompts 256 needs far less) is refused unparsed.
  std::string long_request = R"({"image_id": ")" + id + R"(", "boxes": [)";
  while (long_request.size() <= 1024 * 1024) long_request += "[1, 2, 30, 40],";
  long_request += "[1, 2, 30, 40]]}";
  expect_json_error(client.Post("/v1/segment", long_request, "application/json"), 413,
                    "more than the 1048576 this server reads");
  // Over --max-upload-mib it is httplib's 413, as for any route.
  expect_json_error(client.Post("/v1/segment", std::string(2 * 1024 * 1024 + 1, ' '), "application/json"), 413,
                    "--max-upload-mib");
  // A number past double's range: a 400 naming it, not a 500.
  expect_json_error(client.Post("/v1/segment", R"({"image_id": ")" + id + R"(", "boxes": [[1e400, 1, 2, 3]]})", "application/json"),
                    400, "1e400");
  // Still serving.
  expect_json_error(client.Post("/v1/segment", json{{"image_id", id}, {"boxes", {kBox}}}.dump(), "application/json"), 404,
                    "not in the store");
  CHECK(body_of(running.client().Post("/v1/images", png, "image/png"))["width"] == 256);
}

TEST_CASE("HTTP: CORS headers and preflights only when an origin is allowed", "[serve]") {
  serve::SegmentService service(tiny_options());
  {
    RunningServer plain(service, {});
    auto r = plain.client().Get("/v1/health");
    REQUIRE(r);
    CHECK_FALSE(r->has_header("Access-Control-Allow-Origin"));
  }
  serve::HttpOptions options;
  options.cors_origin = "https://viewer.example.org";
  RunningServer cors(service, options);
  auto client = cors.client();
  auto preflight = client.Options("/v1/segment");
  REQUIRE(preflight);
  CHECK(preflight->status == 204);
  CHECK(preflight->get_header_value("Access-Control-Allow-Origin") == "https://viewer.example.org");
  CHECK_THAT(preflight->get_header_value("Access-Control-Allow-Methods"), Catch::Contains("POST"));
  auto health = client.Get("/v1/health");
  REQUIRE(health);
  CHECK(health->get_header_value("Access-Control-Allow-Origin") == "https://viewer.example.org");
  // Errors carry the header too, so the page can read the message.
  auto missing = client.Get("/v1/nothing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->get_header_value("Access-Control-Allow-Origin") == "https://viewer.example.org");
}

TEST_CASE("HTTP: concurrent clients get the same answers as one client", "[serve]") {
  serve::SegmentService service(tiny_options());
  RunningServer running(service, {});
  torch::manual_seed(1);
  const std::string npy = format_npy(torch::rand({64, 48}));
  const std::string id = body_of(running.client().Post("/v1/images", npy, "application/x-npy"))["image_id"];
  const json request{{"image_id", id}, {"boxes", {{2, 3, 40, 50}, {10, 10, 30, 30}}}, {"mask_format", "rle"}};
  const std::string reference = body_of(running.client().Post("/v1/segment", request.dump(), "application/json"))["masks"].dump();

  std::vector<std::string> answers(6);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < answers.size(); ++t)
    threads.emplace_back([&, t] {
      auto r = running.client().Post("/v1/segment", request.dump(), "application/json");
      answers[t] = r && r->status == 200 ? json::parse(r->body)["masks"].dump() : std::string("failed");
    });
  for (auto& th : threads) th.join();
  for (const auto& a : answers) CHECK(a == reference);
}

TEST_CASE("medsam serve listens on --port 0, writes --port-file and stops cleanly on SIGTERM", "[serve][cli]") {
  const std::string dir = test::temp_dir("serve_cli");
  const std::string port_file = dir + "/port", pid_file = dir + "/pid";
  test::CommandResult result;
  std::thread server([&] {
    // Braces: run_command's redirections then cover the server's output, and `wait` passes on its exit code.
    result = test::run_command("{ " + std::string(MEDSAM_BIN) + " serve --checkpoint " + test::tiny_checkpoint() +
                               " --port 0 --port-file " + port_file + " & echo $! > " + pid_file + "; wait $!; }");
  });
  int port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::ifstream(port_file) >> port;
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  REQUIRE(pid > 0);
  if (port > 0) {
    httplib::Client client("127.0.0.1", port);
    const json health = body_of(client.Get("/v1/health"));
    CHECK(health["model"]["arch"] == "tiny");
  }
  ::kill(pid, SIGTERM);
  server.join();
  INFO(result.err);
  REQUIRE(port > 0);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("SIGTERM received") && Catch::Contains("serve: stopped"));
}

TEST_CASE("medsam bench serve splits a request into decoder and the rest", "[serve][cli]") {
  const auto r = test::run_medsam("bench serve --checkpoint " + test::tiny_checkpoint() +
                                  " --image-size 64 --boxes 2 --mask-format rle --iters 3 --warmup 1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("serve tiny device=cpu precision=fp32") &&
                        Catch::Contains("image=64x64 boxes=2 mask_format=rle") && Catch::Contains("= decoder") &&
                        Catch::Contains("(3 iters, 1 warmup)"));
}

TEST_CASE("medsam serve refuses a busy port and a missing checkpoint, naming them", "[serve][cli]") {
  serve::SegmentService service(tiny_options());
  RunningServer busy(service, {});
  // `timeout`: a server that shared the port (httplib's default SO_REUSEPORT did) would never return.
  const auto taken = test::run_command("timeout 60 " + std::string(MEDSAM_BIN) + " serve --checkpoint " +
                                       test::tiny_checkpoint() + " --port " + std::to_string(busy.port));
  CHECK(taken.exit_code == 1);
  CHECK_THAT(taken.err, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(busy.port)));
  const auto missing = test::run_medsam("serve --checkpoint /nonexistent/weights.pth --port 0");
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/weights.pth"));
}
