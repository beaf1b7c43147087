#include <catch2/catch.hpp>

#include "medsam/core/error.h"
#include "medsam/train/schedule.h"

using namespace medsam;
using namespace medsam::train;

TEST_CASE("constant schedule is MedSAM's: the base lr at every step", "[train][schedule]") {
  ScheduleConfig c;
  CHECK(learning_rate(c, 1e-4, 0, 0) == 1e-4);
  CHECK(learning_rate(c, 1e-4, 123456, 0) == 1e-4);
}

TEST_CASE("warmup ramps linearly: step k gets lr * (k + 1) / warmup", "[train][schedule]") {
  ScheduleConfig c;
  c.warmup_steps = 4;
  CHECK(learning_rate(c, 1.0, 0, 0) == Approx(0.25));
  CHECK(learning_rate(c, 1.0, 3, 0) == Approx(1.0));
  CHECK(learning_rate(c, 1.0, 4, 0) == Approx(1.0));
}

TEST_CASE("cosine after warmup: base at its start, half-way at the middle, min at the end", "[train][schedule]") {
  ScheduleConfig c;
  c.name = "cosine";
  c.warmup_steps = 10;
  c.min_lr_ratio = 0.1;
  // total 110: cosine spans steps 10..110; the middle (60) is (1 + 0.1) / 2 = 0.55.
  CHECK(learning_rate(c, 1.0, 10, 110) == Approx(1.0));
  CHECK(learning_rate(c, 1.0, 60, 110) == Approx(0.55));
  CHECK(learning_rate(c, 1.0, 110, 110) == Approx(0.1));
  CHECK(learning_rate(c, 1.0, 500, 110) == Approx(0.1));
  c.total_steps = 210;  // an explicit length wins over max_steps
  CHECK(learning_rate(c, 1.0, 110, 110) == Approx(0.55));
}

TEST_CASE("cosine without a length and unknown names are config errors", "[train][schedule]") {
  ScheduleConfig c;
  c.name = "cosine";
  CHECK_THROWS_AS(learning_rate(c, 1.0, 0, 0), ConfigError);
  c.name = "linear";
  CHECK_THROWS_AS(learning_rate(c, 1.0, 0, 100), ConfigError);
}
