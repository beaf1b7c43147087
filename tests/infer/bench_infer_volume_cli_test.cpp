// `medsam bench infer-volume` runs propagation for each --encode-batch and checks the masks agree.
#include <catch2/catch.hpp>

#include "tests/support/run_command.h"

TEST_CASE("bench infer-volume times each encoder batch size and finds equal masks", "[infer][cli]") {
  const auto r = medsam::test::run_medsam(
      "bench infer-volume --arch tiny --slices 3 --size 64 --encode-batch 1 --encode-batch 3 --threads 1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("infer-volume tiny img_size=256 precision=fp32 threads=1 slices=3 (64x64) encode_batch=1:"));
  CHECK_THAT(r.out, Catch::Contains("encode_batch=3:") && Catch::Contains("masks equal to the first run"));
  CHECK_THAT(r.out, !Catch::Contains("MASKS DIFFER"));
}
