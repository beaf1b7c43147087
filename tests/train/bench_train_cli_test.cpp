// `medsam bench train-step`: batch placement, and --profile with scripts/gpu/trace_summary.py (the tool
// the GPU sessions use to see where a step's time goes).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "medsam/core/directory.h"
#include "medsam/core/torch_compat.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using namespace medsam;
namespace fs = std::filesystem;

namespace {
test::CommandResult summarize(const std::string& trace) {
  return test::run_command("python3 " + test::source_file("scripts/gpu/trace_summary.py") + " " + trace);
}
}  // namespace

TEST_CASE("bench train-step --profile writes a trace whose summary names the trainer's phases", "[train][cli]") {
  const auto dir = test::temp_dir("bench_train_profile");
  const std::string trace = dir + "/sub/step.json";
  const auto r = test::run_medsam("bench train-step --arch tiny --batch 1 --iters 1 --warmup 0 --threads 1 --profile " +
                                  trace);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("batches=resident") && Catch::Contains("samples/s"));
  REQUIRE(fs::exists(trace));
  for (const auto& e : medsam::list_directory(dir + "/sub")) CHECK(e.name == "step.json");  // no temp left
  const auto s = summarize(trace);
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  for (const char* phase : {"medsam::batch", "medsam::forward", "medsam::backward", "medsam::grad_norm",
                            "medsam::optimizer"})
    CHECK_THAT(s.out, Catch::Contains(phase));
  CHECK_THAT(s.out, Catch::Contains("CPU operators by self time") && Catch::Contains("aten::"));

  CHECK(test::run_medsam("bench train-step --arch tiny --batches elsewhere").exit_code == 2);
  CHECK(summarize(dir + "/missing.json").exit_code != 0);
}

TEST_CASE("trace_summary attributes GPU kernels to the phase that launched them", "[train][cli]") {
  // A Kineto-shaped trace (as LibTorch 2.x writes on a GPU), in µs: forward launches a 1 ms kernel,
  // the optimizer a 3 ms one, and a 0.5 ms copy has no launch inside a phase. Span 10.5 ms.
  const auto dir = test::temp_dir("trace_summary");
  const std::string trace = dir + "/kineto.json";
  std::ofstream(trace) << R"({"traceEvents": [
    {"ph": "X", "cat": "user_annotation", "name": "medsam::forward", "ts": 0, "dur": 5000, "pid": 1, "tid": 1},
    {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 100, "dur": 5, "pid": 1, "tid": 1,
     "args": {"correlation": 1}},
    {"ph": "X", "cat": "kernel", "name": "gemm_a", "ts": 200, "dur": 1000, "pid": 0, "tid": 7, "args": {"correlation": 1}},
    {"ph": "X", "cat": "user_annotation", "name": "medsam::optimizer", "ts": 6000, "dur": 1000, "pid": 1, "tid": 1},
    {"ph": "X", "cat": "gpu_user_annotation", "name": "medsam::optimizer", "ts": 6200, "dur": 3000, "pid": 0, "tid": 7},
    {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 6100, "dur": 5, "pid": 1, "tid": 1,
     "args": {"correlation": 2}},
    {"ph": "X", "cat": "kernel", "name": "adam_b", "ts": 6200, "dur": 3000, "pid": 0, "tid": 7, "args": {"correlation": 2}},
    {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD", "ts": 10000, "dur": 500, "pid": 0, "tid": 8,
     "args": {"correlation": 3}},
    {"ph": "i", "name": "marker", "ts": 0, "pid": 1, "tid": 1}
  ]})";
  const auto s = summarize(trace);
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  INFO(s.out);
  CHECK_THAT(s.out, Catch::Contains("8 events, span 10.50 ms"));
  CHECK_THAT(s.out, Catch::Contains("GPU busy 4.50 ms (42.9% of the span), idle 6.00 ms"));
  CHECK_THAT(s.out, Catch::Matches("(.|\n)*medsam::forward +5\\.00 +1\\.00\n(.|\n)*"));
  CHECK_THAT(s.out, Catch::Matches("(.|\n)*medsam::optimizer +1\\.00 +3\\.00\n(.|\n)*"));
  CHECK_THAT(s.out, Catch::Matches("(.|\n)*\\(outside the phases\\) +0\\.50\n(.|\n)*"));
  CHECK_THAT(s.out, Catch::Contains("3.00 ms  66.7% x1     adam_b"));
}

TEST_CASE("bench encoder and train-step --attention and --sdpa: every path trains, a named kernel needs LibTorch 2.7",
          "[train][cli]") {
  const auto r = test::run_medsam(
      "bench train-step --arch tiny --batch 1 --iters 1 --warmup 0 --threads 1 --attention folded --sdpa auto");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("attention=folded sdpa=auto"));
  CHECK(test::run_medsam("bench train-step --arch tiny --iters 1 --warmup 0 --attention chunks").exit_code == 0);
  CHECK_THAT(r.out, !Catch::Contains("sdpa: "));  // CPU: the attention makes no SDPA call to report
  for (const char* bench : {"encoder", "train-step"}) {
    INFO(bench);
    const auto named =
        test::run_medsam(std::string("bench ") + bench + " --arch tiny --iters 1 --warmup 0 --threads 1 --sdpa cudnn");
    if (compat::kCanPreferSdpaKernel) {
      CHECK(named.exit_code == 0);
      CHECK_THAT(named.out, Catch::Contains("sdpa=cudnn"));
    } else {
      CHECK(named.exit_code == 1);
      CHECK_THAT(named.err, Catch::Contains("needs LibTorch 2.7") && Catch::Contains(compat::torch_version()));
    }
    CHECK(test::run_medsam(std::string("bench ") + bench + " --arch tiny --sdpa fastest").exit_code == 2);
  }
}
