// medsam report / make_run_report: the before/after table is computed from the two summaries, the
// curves come from metrics.jsonl, pictures are embedded, and missing inputs are named.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/eval/line_chart_svg.h"
#include "medsam/eval/run_report.h"
#include "tests/support/run_command.h"

namespace fs = std::filesystem;
using namespace medsam;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A summary.json as `medsam eval --checkpoint` writes it (object_summary_json), two labels.
std::string summary(double all_dsc, double a_dsc, double b_dsc, double all_nsd,
                    const std::string& run = R"({"checkpoint": "c.pth", "split": "test", "samples": "30"})",
                    double tolerance = 2.0) {
  const auto stats = [](double mean, int n) {
    return "{\"n\": " + std::to_string(n) + ", \"nan\": 0, \"median\": " + std::to_string(mean) +
           ", \"q1\": 0, \"q3\": 1, \"iqr\": 1, \"mean\": " + std::to_string(mean) + "}";
  };
  return "{\"run\": " + run + ", \"nsd_tolerance_mm\": " + std::to_string(tolerance) + ", \"overall\": {\"group\": \"all\", \"dsc\": " + stats(all_dsc, 30) +
         ", \"nsd\": " + stats(all_nsd, 30) + "}, \"modality\": [], \"dataset\": [], \"label\": [" +
         "{\"group\": \"d:1 A\", \"dsc\": " + stats(a_dsc, 10) + ", \"nsd\": " + stats(0.5, 10) + "}, " +
         "{\"group\": \"d:2 B\", \"dsc\": " + stats(b_dsc, 20) + ", \"nsd\": " + stats(0.5, 20) + "}]}";
}

}  // namespace

TEST_CASE("run report: before/after deltas, curves from metrics.jsonl, embedded pictures", "[eval][report]") {
  const fs::path dir = test::temp_dir("run_report");
  write(dir / "before/summary.json", summary(0.25, 0.2, 0.3, 0.1));
  write(dir / "after/summary.json", summary(0.75, 0.8, 0.7, 0.6));
  write(dir / "run/metrics.jsonl",
        "{\"step\": 1, \"loss\": 1.5, \"skipped\": false}\n{\"step\": 2, \"loss\": 1.0, \"skipped\": false}\n"
        "{\"step\": 2, \"val_mean_dsc\": 0.4, \"val_mean_nsd\": 0.3}\n{\"step\": 3, \"loss\": 0.5, \"skipped\": false}\n");
  eval::RunReportInput in;
  in.before_dir = (dir / "before").string();
  in.after_dir = (dir / "after").string();
  in.run_dir = (dir / "run").string();
  in.images = {{std::string(MEDSAM_FIXTURES_DIR) + "/sam_tiny/case_z70/image.png", "a slice"}};
  in.facts = {{"machine", "test"}};
  const auto r = eval::make_run_report(in);
  CHECK(r.before_mean_dsc == Approx(0.25));
  CHECK(r.after_mean_dsc == Approx(0.75));
  CHECK_THAT(r.markdown, Catch::Contains("| **all objects** | 30 | 0.250 | 0.750 | +0.500 | 0.100 | 0.600 | +0.500 |"));
  CHECK_THAT(r.markdown, Catch::Contains("| d:1 A | 10 | 0.200 | 0.800 | +0.600 |"));
  CHECK_THAT(r.markdown, Catch::Contains("| d:2 B | 20 | 0.300 | 0.700 | +0.400 |"));
  CHECK_THAT(r.markdown, Catch::Contains("| 2 | 0.400 | 0.300 |"));  // the validation row
  // 25-step moving average of 1.5, 1.0, 0.5: 1.5 at step 1, 1.0 at step 3
  CHECK_THAT(r.markdown, Catch::Contains("1.500 at step 1, 1.000 at step 3"));
  size_t svgs = 0;
  for (size_t at = r.html.find("<svg"); at != std::string::npos; at = r.html.find("<svg", at + 1)) ++svgs;
  CHECK(svgs == 2);
  CHECK_THAT(r.html, Catch::Contains("data:image/png;base64,iVBORw0KGgo"));  // PNG signature, base64
  CHECK_THAT(r.html, Catch::Contains("class=\"up\""));

  in.before_dir = (dir / "missing").string();
  CHECK_THROWS_WITH(eval::make_run_report(in), Catch::Contains("missing/summary.json"));
}

TEST_CASE("medsam report writes the page and fails loudly when fine-tuning did not help", "[eval][report][cli]") {
  const fs::path dir = test::temp_dir("run_report_cli");
  write(dir / "before/summary.json", summary(0.25, 0.2, 0.3, 0.1));
  write(dir / "after/summary.json", summary(0.75, 0.8, 0.7, 0.6));
  const std::string base = "report --before " + (dir / "before").string() + " --after " + (dir / "after").string();
  auto ok = test::run_medsam(base + " --output " + (dir / "r.html").string() + " --markdown " +
                             (dir / "r.md").string() + " --require-gain 0.4");
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("0.250 -> 0.750 (+0.500)"));
  CHECK(fs::file_size(dir / "r.html") > 0);
  CHECK(fs::file_size(dir / "r.md") > 0);
  // swapped: the "fine-tuned" model is worse
  auto worse = test::run_medsam("report --before " + (dir / "after").string() + " --after " +
                                (dir / "before").string() + " --output " + (dir / "w.html").string() +
                                " --require-gain 0");
  CHECK(worse.exit_code == 1);
  CHECK_THAT(worse.err, Catch::Contains("mean DSC changed by -0.500"));
}

TEST_CASE("a report over two evaluations of different data or settings says so, and --require-gain refuses it",
          "[eval][report][cli]") {
  const fs::path dir = test::temp_dir("run_report_mismatch");
  write(dir / "before/summary.json",
        summary(0.25, 0.2, 0.3, 0.1, R"({"checkpoint": "base.pth", "split": "val", "samples": "200"})", 1.0));
  write(dir / "after/summary.json",
        summary(0.75, 0.8, 0.7, 0.6, R"({"checkpoint": "tuned.pth", "split": "test", "samples": "30"})"));
  eval::RunReportInput in;
  in.before_dir = (dir / "before").string();
  in.after_dir = (dir / "after").string();
  const auto r = eval::make_run_report(in);
  // The checkpoints differ by design; the split, the sample count and the tolerance must not.
  CHECK(r.mismatches == std::vector<std::string>{"samples: 200 vs 30", "split: val vs test",
                                                  "nsd_tolerance_mm: 1.0 vs 2.0"});
  CHECK_THAT(r.markdown, Catch::Contains("not the fine-tuning's alone") && Catch::Contains("- split: val vs test"));
  CHECK_THAT(r.markdown, Catch::Contains("## Test split: before and after"));
  const std::string base = "report --before " + (dir / "before").string() + " --after " + (dir / "after").string() +
                           " --output " + (dir / "r.html").string();
  const auto gate = test::run_medsam(base + " --require-gain 0.1");
  CHECK(gate.exit_code == 2);
  CHECK_THAT(gate.err, Catch::Contains("not comparable (samples: 200 vs 30; split: val vs test;"));
  const auto plain = test::run_medsam(base);
  CHECK(plain.exit_code == 0);
  CHECK_THAT(plain.err, Catch::Contains("the evaluations differ: split: val vs test"));
}

TEST_CASE("medsam report refuses a non-finite --require-gain, and writes nothing when an output's folder is missing",
          "[eval][report][cli]") {
  const fs::path dir = test::temp_dir("run_report_checks");
  // A worse "fine-tuned" model: a gate that is on fails; inf, -inf and nan used to turn it off (exit 0).
  write(dir / "before/summary.json", summary(0.75, 0.8, 0.7, 0.6));
  write(dir / "after/summary.json", summary(0.25, 0.2, 0.3, 0.1));
  const std::string base = "report --before " + (dir / "before").string() + " --after " + (dir / "after").string();
  for (const char* gain : {"inf", "-inf", "nan"}) {
    INFO(gain);
    const auto r = test::run_medsam(base + " --output " + (dir / "g.html").string() + " --require-gain=" + gain);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(std::string("--require-gain ") + gain + ": must be a finite number"));
  }
  CHECK_FALSE(fs::exists(dir / "g.html"));
  // --markdown's folder does not exist: the HTML page is not written either.
  const auto md = test::run_medsam(base + " --output " + (dir / "rp.html").string() + " --markdown " +
                                   (dir / "no/such/x.md").string());
  CHECK(md.exit_code == 1);
  CHECK_THAT(md.err, Catch::Contains("--markdown " + (dir / "no/such/x.md").string() + ": cannot write it"));
  CHECK_FALSE(fs::exists(dir / "rp.html"));
}

TEST_CASE("line chart: no finite points says so, points map into the plot area", "[eval][report]") {
  CHECK_THAT(eval::line_chart_svg("t", "x", {{"s", "#000", {{0.0, NAN}}}}), Catch::Contains("no data"));
  const auto svg = eval::line_chart_svg("t", "x", {{"s", "#000", {{0.0, 0.0}, {10.0, 1.0}}}}, true, 520, 280);
  // x 0 -> left edge 52, y 0 -> bottom 244; x 10 -> right edge 508, y 1 -> top 42 (the title's 28 px and one
  // legend row of 14 above the plot: the legend never covers a line)
  CHECK_THAT(svg, Catch::Contains("points=\"52.0,244.0 508.0,42.0 \""));
  CHECK_THAT(svg, Catch::Contains("y1=\"30\" x2=\"504\" y2=\"30\""));  // the legend's line, above y = 42
}
