// The `medsam` command: exit codes (0 ok, 2 usage, 1 runtime) and one-line errors that name the problem.
#include <catch2/catch.hpp>

#include "medsam/core/thread_env.h"
#include "tests/support/fixtures.h"
#include "tests/support/run_command.h"

using medsam::test::run_medsam;

TEST_CASE("medsam --version names the project, LibTorch and CUDA", "[cli]") {
  auto r = run_medsam("--version");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("medsam 0.") && Catch::Contains("LibTorch") && Catch::Contains("CUDA:"));
}

TEST_CASE("medsam --help lists every subcommand", "[cli]") {
  auto r = run_medsam("--help");
  CHECK(r.exit_code == 0);
  for (const char* sub : {"infer", "prep", "train", "eval", "export", "info", "launch", "bench"}) {
    INFO(sub);
    CHECK_THAT(r.out, Catch::Contains(sub));
    auto h = run_medsam(std::string(sub) + " --help");
    CHECK(h.exit_code == 0);
    CHECK_THAT(h.out, Catch::Contains(sub));
  }
}

TEST_CASE("usage errors exit 2 with one line naming the problem", "[cli]") {
  auto none = run_medsam("");
  CHECK(none.exit_code == 2);
  auto unknown = run_medsam("segment");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown command 'segment'") && Catch::Contains("infer"));
  auto bad_flag = run_medsam("train --no-such-flag");
  CHECK(bad_flag.exit_code == 2);
  CHECK_THAT(bad_flag.err, Catch::Contains("--no-such-flag"));
  auto bad_threads = run_medsam("--threads -3 train");
  CHECK(bad_threads.exit_code == 2);
  auto bad_arch = run_medsam("train --arch vit_x --dump-config");
  CHECK(bad_arch.exit_code == 2);
  CHECK_THAT(bad_arch.err, Catch::Contains("unknown model preset 'vit_x'"));
  CHECK(bad_arch.err.rfind("medsam: ", 0) == 0);
}

TEST_CASE("medsam --threads above 4096 is refused, naming the flag, the value and the bound", "[cli]") {
  // Unbounded, --threads 100000 made LibTorch start tens of thousands of pool threads.
  auto many = run_medsam("--threads 100000 info " + medsam::test::tiny_checkpoint());
  CHECK(many.exit_code == 2);
  CHECK_THAT(many.err, Catch::Contains("--threads: 100000: must be from 0 to 4096"));
  auto one_more = run_medsam("--threads 4097 info " + medsam::test::tiny_checkpoint());
  CHECK(one_more.exit_code == 2);
  CHECK_THAT(one_more.err, Catch::Contains("--threads: 4097:"));
}

TEST_CASE("a bad config key on the command line exits 2 naming the key", "[cli]") {
  auto r = run_medsam("train --set model.image_encoder.dpth=3 --dump-config");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("model.image_encoder.dpth"));
  auto missing = run_medsam("train --config /nonexistent.yaml");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent.yaml"));
}

TEST_CASE("dumping the config (--dump-config) prints the resolved YAML, overrides applied", "[cli]") {
  auto r = run_medsam("train --arch tiny --set model.image_encoder.depth=2 --set model.image_encoder.global_attn_indexes=[1] --dump-config");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("arch: tiny") && Catch::Contains("depth: 2") && Catch::Contains("embed_dim: 96"));
}

TEST_CASE("medsam eval --checkpoint on a folder that is not prepared data exits 1 naming it", "[cli]") {
  auto r = run_medsam("eval --checkpoint none.pth --data none");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--data none: no manifest.json"));
}

// medsam re-executes itself once so that OpenMP's and OpenBLAS's pools sleep when idle instead of
// spinning against each other (medsam/core/thread_env.h); values the user set are kept.
TEST_CASE("medsam starts with idle-sleeping thread pools unless told to keep the environment", "[cli]") {
  const std::string clean = "env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT -u MEDSAM_THREAD_ENV_APPLIED ";
  const std::string args = " --log-level debug bench decoder --arch tiny --iters 1 --warmup 0";
  // Only OpenBLAS on pthreads has the second pool; with another BLAS medsam leaves the environment alone.
  const bool openblas = medsam::blas_is_openblas_pthreads();
  auto set = medsam::test::run_command(clean + MEDSAM_BIN + args);
  REQUIRE(set.exit_code == 0);
  CHECK_THAT(set.err, Catch::Contains(openblas ? "OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4"
                                               : "OMP_WAIT_POLICY=(unset) OPENBLAS_THREAD_TIMEOUT=(unset)"));
  auto user = medsam::test::run_command(clean + "OMP_WAIT_POLICY=ACTIVE " + MEDSAM_BIN + args);
  REQUIRE(user.exit_code == 0);
  CHECK_THAT(user.err, Catch::Contains(openblas ? "OMP_WAIT_POLICY=ACTIVE OPENBLAS_THREAD_TIMEOUT=4"
                                                : "OMP_WAIT_POLICY=ACTIVE OPENBLAS_THREAD_TIMEOUT=(unset)"));
  auto kept = medsam::test::run_command(clean + "MEDSAM_KEEP_THREAD_ENV=1 " + MEDSAM_BIN + args);
  REQUIRE(kept.exit_code == 0);
  CHECK_THAT(kept.err, Catch::Contains("OMP_WAIT_POLICY=(unset) OPENBLAS_THREAD_TIMEOUT=(unset)"));
}
