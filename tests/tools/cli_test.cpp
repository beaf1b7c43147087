// The `medsam` command: exit codes (0 ok, 2 usage, 1 runtime) and one-line errors that name the problem.
#include <catch2/catch.hpp>

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

TEST_CASE("a subcommand whose library part is missing exits 1 and says so", "[cli]") {
  auto r = run_medsam("eval --checkpoint none.pth --data none");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("not implemented yet"));
}
