#include <catch2/catch.hpp>

#include "medsam/core/log.h"
#include "tests/support/stderr_capture.h"

namespace {

struct RankScope {
  RankScope(int rank, int world) { medsam::set_log_rank(rank, world); }
  ~RankScope() { medsam::set_log_rank(0, 1); }
};

}  // namespace

TEST_CASE("log: a rank other than 0 shows errors and its own warnings, not the shared ones", "[core][log]") {
  RankScope rank(3, 8);
  medsam::test::StderrCapture capture;
  medsam::log_info("info from every rank");
  medsam::log_warn("config warning every rank computes");
  medsam::log_rank_warn("data: skipping sample {}", "ct/case_7#12");
  medsam::log_error("failure on this rank");
  const std::string text = capture.text();
  CHECK(text.find("info from every rank") == std::string::npos);
  CHECK(text.find("config warning every rank computes") == std::string::npos);
  CHECK(text.find("warn rank 3] data: skipping sample ct/case_7#12") != std::string::npos);
  CHECK(text.find("error rank 3] failure on this rank") != std::string::npos);
}

TEST_CASE("log: rank 0 shows every level at or above the log level", "[core][log]") {
  RankScope rank(0, 2);
  medsam::set_log_level(medsam::LogLevel::kWarn);
  medsam::test::StderrCapture capture;
  medsam::log_info("hidden info");
  medsam::log_warn("shared warning");
  medsam::log_rank_warn("own warning");
  const std::string text = capture.text();
  medsam::set_log_level(medsam::LogLevel::kInfo);
  CHECK(text.find("hidden info") == std::string::npos);
  CHECK(text.find("warn rank 0] shared warning") != std::string::npos);
  CHECK(text.find("warn rank 0] own warning") != std::string::npos);
}
