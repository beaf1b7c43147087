// Summary statistics and the report formats.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "medsam/eval/metrics_report.h"

using namespace medsam::eval;

TEST_CASE("stats: median and quartiles interpolate linearly like numpy.percentile, NaN is counted, not used",
          "[eval]") {
  // Sorted 1, 2, 4, 10: median (2 + 4) / 2 = 3; q1 at position 0.75 → 1.75; q3 at 2.25 → 5.5; mean 4.25.
  const Stats s = compute_stats({10, 2, std::numeric_limits<double>::quiet_NaN(), 1, 4});
  CHECK(s.n == 4);
  CHECK(s.nan == 1);
  CHECK(s.median == Approx(3.0));
  CHECK(s.q1 == Approx(1.75));
  CHECK(s.q3 == Approx(5.5));
  CHECK(s.mean == Approx(4.25));
  CHECK(compute_stats({}).n == 0);
}

TEST_CASE("summary has a row per label and one for all, CSV quotes awkward case names", "[eval]") {
  const std::vector<CaseScore> scores{{"a", 2, 0.5, 0.25}, {"b,c", 1, 1.0, 1.0}, {"a", 1, 0.0, 0.0}};
  const auto summary = summarize(scores);
  REQUIRE(summary.size() == 3);
  CHECK(summary[0].label == "1");
  CHECK(summary[0].dsc.median == Approx(0.5));
  CHECK(summary[2].label == "all");
  CHECK(summary[2].nsd.n == 3);
  CHECK(scores_csv(scores) == "case,label,dsc,nsd\na,2,0.500000,0.250000\n\"b,c\",1,1.000000,1.000000\na,1,0.000000,0.000000\n");
  CHECK_THAT(summary_markdown(summary, 2.0), Catch::Contains("| all | 3 | 0.5000 | 0.2500–0.7500 | 0.5000 |"));
  CHECK_THAT(summary_json(summary, 2.0), Catch::Contains("\"label\": \"all\""));
}
