// The pieces of the evaluation report: grouped summaries, the SVG box plot, the HTML page, the gallery.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <regex>

#include "medsam/eval/box_plot_svg.h"
#include "medsam/eval/contour_overlay.h"
#include "medsam/eval/gallery.h"
#include "medsam/eval/html_report.h"
#include "medsam/eval/object_report.h"
#include "medsam/io/image.h"
#include "tests/support/run_command.h"
#include "tests/support/skip.h"

using namespace medsam;
using namespace medsam::eval;

namespace {

double attribute(const std::string& svg, const std::string& name) {
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex(name + "=\"([0-9.]+)\"")));
  return std::stod(m[1]);
}

std::vector<ObjectScore> example_scores() {
  return {{"a", "ct", "c1", 3, 1, 0.9, 0.8}, {"a", "ct", "c1", 3, 2, 0.5, 0.4},
          {"b", "mr", "c2", 0, 1, 0.7, 0.6}, {"b", "mr", "c2", 1, 1, 0.1, std::nan("")}};
}
}  // namespace

TEST_CASE("object summaries group by modality, dataset and named label", "[eval][report]") {
  const auto summary = summarize_objects(example_scores(), {{"a", {{1, "liver"}}}});
  REQUIRE(summary.size() == 1 + 2 + 2 + 3);
  CHECK(summary[0].group == "all");
  CHECK(summary[0].dsc.n == 4);
  CHECK(summary[0].nsd.n == 3);  // the NaN is counted apart
  CHECK(summary[0].nsd.nan == 1);
  CHECK(summary[1].by == "modality");
  CHECK(summary[1].group == "ct");
  CHECK(summary[1].dsc.median == Approx(0.7));
  CHECK(summary[2].group == "mr");
  CHECK(summary[2].dsc.mean == Approx(0.4));
  CHECK(summary[3].by == "dataset");
  CHECK(summary[5].group == "a:1 liver");
  CHECK(summary[6].group == "a:2");
  CHECK(summary[7].group == "b:1");
  CHECK(summary[7].dsc.n == 2);

  const auto csv = object_scores_csv(example_scores());
  CHECK_THAT(csv, Catch::StartsWith("dataset,modality,case,slice,label,dsc,nsd\na,ct,c1,3,1,0.900000,0.800000\n"));
  CHECK_THAT(csv, Catch::EndsWith("b,mr,c2,1,1,0.100000,nan\n"));
  const auto md = object_summary_markdown(summary, 2.0, {{"split", "val"}});
  CHECK_THAT(md, Catch::Contains("- split: val") && Catch::Contains("## Per modality") &&
                     Catch::Contains("| ct | 2 | 0.7000 | 0.6000–0.8000 | 0.7000 |"));
  const auto json = object_summary_json(summary, 2.0, {{"split", "val"}});
  CHECK_THAT(json, Catch::Contains("\"split\": \"val\"") && Catch::Contains("\"group\": \"a:1 liver\""));
}

TEST_CASE("the SVG box plot draws the quartiles and Tukey outliers of its values", "[eval][report]") {
  // 0.0 and 0.50, 0.51, ..., 0.60: quartiles 0.5175 and 0.5725 (numpy's linear rule), so 0.0 lies
  // beyond 1.5 IQR below the box: one outlier dot.
  std::vector<double> values{0.0};
  for (int i = 0; i <= 10; ++i) values.push_back(0.5 + 0.01 * i);
  const auto svg = box_plot_svg("mr <T1>", {{"DSC", values}, {"NSD", {}}});
  CHECK_THAT(svg, Catch::StartsWith("<svg") && Catch::EndsWith("</svg>\n"));
  CHECK_THAT(svg, Catch::Contains("mr &lt;T1&gt;"));
  CHECK(attribute(svg, "data-median") == Approx(0.545));  // 12 values: between 0.54 and 0.55
  CHECK(attribute(svg, "data-q1") == Approx(0.5175));
  CHECK(attribute(svg, "data-q3") == Approx(0.5725));
  CHECK(test::count_occurrences(svg, "<circle") == 1);
  CHECK(test::count_occurrences(svg, "class=\"box\"") == 1);  // the empty NSD series has no box, only its label
  CHECK_THAT(svg, Catch::Contains("n = 12") && Catch::Contains("n = 0"));
}

TEST_CASE("the HTML report has one inline SVG per box plot and embeds gallery PNGs", "[eval][report]") {
  HtmlReport r;
  r.summary = summarize_objects(example_scores());
  r.plots = {{"ct", {{"DSC", {0.9, 0.5}}}}, {"mr", {{"DSC", {0.7, 0.1}}}}};
  r.worst = {{"b/c2 slice 1 label 1", "gallery/worst_01.png", {0x89, 'P', 'N', 'G'}}};
  const auto html = html_report(r);
  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>") && Catch::EndsWith("</html>\n"));
  CHECK(test::count_occurrences(html, "<svg") == 2);
  CHECK_THAT(html, Catch::Contains("src=\"data:image/png;base64,iVBORw==\""));  // base64 of 89 50 4E 47
  CHECK_THAT(html, Catch::Contains("<h3>Per modality</h3>"));
  CHECK(test::count_occurrences(html, "src=\"http") == 0);  // nothing is fetched: no external images, scripts or styles
  CHECK(test::count_occurrences(html, "<link") == 0);
  CHECK(test::count_occurrences(html, "<script") == 0);
}

TEST_CASE("the gallery keeps the lowest and highest DSC objects and writes readable overlays", "[eval][report]") {
  MEDSAM_NEEDS_OPENCV("gallery overlays");
  // One 32x32 sample with 5 objects (labels 1..5, vertical stripes) scored 0.4, 0.9, 0.1, 0.7, 0.5.
  EvaluatedSample s;
  s.image = torch::arange(32 * 32).reshape({32, 32, 1}).remainder(256).to(torch::kUInt8);
  s.labels = torch::zeros({32, 32}, torch::kInt);
  s.masks = torch::zeros({5, 32, 32}, torch::kUInt8);
  s.boxes = torch::zeros({5, 4});
  const double dsc[5] = {0.4, 0.9, 0.1, 0.7, 0.5};
  for (int64_t k = 0; k < 5; ++k) {
    s.labels.slice(0, 4, 28).slice(1, 6 * k + 1, 6 * k + 5).fill_(k + 1);
    s.masks[k].slice(0, 6, 26).slice(1, 6 * k + 1, 6 * k + 6).fill_(1);
    s.boxes[k] = torch::tensor({6.f * k + 1, 4.f, 6.f * k + 4, 27.f});
    s.scores.push_back({"d", "ct", "c", 0, k + 1, dsc[k], dsc[k]});
  }
  Gallery gallery(2);
  gallery.offer(s);
  const auto dir = test::temp_dir("gallery");
  const auto items = gallery.write(dir);
  REQUIRE(items.worst.size() == 2);
  REQUIRE(items.best.size() == 2);
  CHECK_THAT(items.worst[0].caption, Catch::Contains("label 3") && Catch::Contains("DSC 0.100"));
  CHECK_THAT(items.worst[1].caption, Catch::Contains("label 1"));
  CHECK_THAT(items.best[0].caption, Catch::Contains("label 2") && Catch::Contains("DSC 0.900"));
  CHECK_THAT(items.best[1].caption, Catch::Contains("label 4"));
  for (const auto& item : {items.worst[0], items.best[1]}) {
    const auto png = io::read_image(dir + "/" + item.file);
    CHECK(png.sizes() == at::IntArrayRef{512, 512, 3});  // 32 px enlarged 16x
    // Ground-truth contour (green) and prediction contour (red) are both drawn.
    const auto g = (png.select(2, 0) == 0) & (png.select(2, 1) == 200) & (png.select(2, 2) == 0);
    const auto r = (png.select(2, 0) == 230) & (png.select(2, 1) == 30) & (png.select(2, 2) == 30);
    CHECK(g.sum().item<int64_t>() > 100);
    CHECK(r.sum().item<int64_t>() > 100);
  }
}
