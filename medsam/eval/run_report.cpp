#include "medsam/eval/run_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"
#include "medsam/eval/line_chart_svg.h"
#include "medsam/eval/report_format.h"

namespace medsam::eval {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string read_text(const fs::path& file, const std::string& what) { return read_file_bytes(file.string(), what); }

Json read_summary(const std::string& dir) {
  const fs::path file = fs::path(dir) / "summary.json";
  const std::string text = read_text(file, "the evaluation summary (run 'medsam eval --checkpoint ... --output DIR')");
  try {
    Json j = Json::parse(text);
    if (!j.contains("overall") || !j["overall"].is_object())
      throw Error(fmt::format("{}: no 'overall' entry (not a 'medsam eval --checkpoint' summary)", file.string()));
    return j;
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

double stat(const Json& row, const char* metric, const char* key) {
  if (!row.contains(metric) || !row[metric].contains(key) || !row[metric][key].is_number()) return NAN;
  return row[metric][key].get<double>();
}

std::string cell(double x) { return std::isfinite(x) ? fmt::format("{:.3f}", x) : "-"; }
std::string delta(double a, double b) {
  return std::isfinite(a) && std::isfinite(b) ? fmt::format("{:+.3f}", b - a) : "-";
}

// Rows: overall, then every label of either summary (by group name), in the after summary's order.
struct Row {
  std::string group;
  Json before, after;
};

std::vector<Row> paired_rows(const Json& before, const Json& after) {
  std::vector<Row> rows{{"all objects", before["overall"], after["overall"]}};
  std::map<std::string, Json> b;
  if (before.contains("label"))
    for (const auto& r : before["label"]) b[r.value("group", "")] = r;
  if (after.contains("label"))
    for (const auto& r : after["label"]) {
      const std::string g = r.value("group", "");
      rows.push_back({g, b.count(g) ? b[g] : Json::object(), r});
    }
  return rows;
}

struct Curves {
  LineSeries loss{"training loss (Dice + BCE)", "#1f77b4", {}, false};
  LineSeries loss_avg{"moving average, 25 steps", "#ff7f0e", {}, false};
  LineSeries val_dsc{"validation mean DSC", "#2ca02c", {}, true};
  LineSeries val_nsd{"validation mean NSD", "#9467bd", {}, true};
};

Curves read_curves(const std::string& run_dir) {
  Curves c;
  const fs::path file = fs::path(run_dir) / "metrics.jsonl";
  std::istringstream lines(read_text(file, "the training metrics"));
  std::string line;
  int lineno = 0;
  std::vector<double> window;
  while (std::getline(lines, line)) {
    ++lineno;
    if (line.empty()) continue;
    Json j;
    try {
      j = Json::parse(line);
    } catch (const Json::exception& e) {
      throw Error(fmt::format("{}:{}: not valid JSON: {}", file.string(), lineno, e.what()));
    }
    if (!j.contains("step") || !j["step"].is_number()) continue;
    const double step = j["step"].get<double>();
    const auto num = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN; };
    if (j.contains("loss") && !j.value("skipped", false)) {
      const double loss = num("loss");
      c.loss.points.emplace_back(step, loss);
      if (std::isfinite(loss)) window.push_back(loss);
      if (window.size() > 25) window.erase(window.begin());
      double sum = 0;
      for (double v : window) sum += v;
      if (!window.empty()) c.loss_avg.points.emplace_back(step, sum / window.size());
    }
    if (j.contains("val_mean_dsc")) {
      c.val_dsc.points.emplace_back(step, num("val_mean_dsc"));
      c.val_nsd.points.emplace_back(step, num("val_mean_nsd"));
    }
  }
  return c;
}

// The settings two evaluations must share for their difference to mean anything: everything of the run
// block but the weights scored and their precision, and the NSD tolerance.
std::vector<std::string> comparability_mismatches(const Json& before, const Json& after) {
  std::vector<std::string> out;
  const auto text = [](const Json& j, const char* key) {
    if (!j.contains(key)) return std::string("(absent)");
    return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
  };
  const Json none = Json::object();
  const Json& run_before = before.contains("run") ? before["run"] : none;
  const Json& run_after = after.contains("run") ? after["run"] : none;
  std::vector<std::string> keys;
  for (const Json* run : {&run_before, &run_after})
    for (const auto& item : run->items())
      if (item.key() != "checkpoint" && item.key() != "precision" &&
          std::find(keys.begin(), keys.end(), item.key()) == keys.end())
        keys.push_back(item.key());
  for (const auto& key : keys)
    if (text(run_before, key.c_str()) != text(run_after, key.c_str()))
      out.push_back(fmt::format("{}: {} vs {}", key, text(run_before, key.c_str()), text(run_after, key.c_str())));
  if (text(before, "nsd_tolerance_mm") != text(after, "nsd_tolerance_mm"))
    out.push_back(fmt::format("nsd_tolerance_mm: {} vs {}", text(before, "nsd_tolerance_mm"),
                              text(after, "nsd_tolerance_mm")));
  return out;
}

}  // namespace

RunReport make_run_report(const RunReportInput& in) {
  const Json before = read_summary(in.before_dir), after = read_summary(in.after_dir);
  const std::vector<Row> rows = paired_rows(before, after);
  const double tol = after.value("nsd_tolerance_mm", 2.0);
  RunReport out;
  out.mismatches = comparability_mismatches(before, after);
  out.before_mean_dsc = stat(before["overall"], "dsc", "mean");
  out.after_mean_dsc = stat(after["overall"], "dsc", "mean");

  std::string md = fmt::format("# {}\n\n", in.title), html;
  html += html_page_start(in.title);
  if (!in.facts.empty()) {
    html += "<table>";
    for (const auto& [k, v] : in.facts) {
      html += fmt::format("<tr><th>{}</th><td style=\"text-align:left\">{}</td></tr>", html_escape(k), html_escape(v));
      md += fmt::format("- **{}**: {}\n", k, v);
    }
    html += "</table>";
    md += "\n";
  }

  if (!out.mismatches.empty()) {
    const std::string what = "The two evaluations differ in more than the weights; their difference is not the "
                             "fine-tuning's alone";
    html += fmt::format("<p style=\"color:#b00020;font-weight:bold\">{}:</p><ul>", html_escape(what));
    md += fmt::format("**{}:**\n\n", what);
    for (const auto& m : out.mismatches) {
      html += fmt::format("<li>{}</li>", html_escape(m));
      md += fmt::format("- {}\n", m);
    }
    html += "</ul>";
    md += "\n";
  }

  // Before/after table.
  std::string split = after.contains("run") && after["run"].contains("split") && after["run"]["split"].is_string()
                          ? after["run"]["split"].get<std::string>()
                          : std::string("test");
  if (!split.empty()) split[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(split[0])));
  const std::string heading = fmt::format("{} split: before and after fine-tuning (DSC; NSD at {} mm)", split, tol);
  html += fmt::format("<h2>{}</h2><table><tr><th>structure</th><th>n</th><th>mean DSC before</th><th>after</th>"
                      "<th>change</th><th>mean NSD before</th><th>after</th><th>change</th><th>median DSC before</th>"
                      "<th>after</th></tr>",
                      html_escape(heading));
  md += fmt::format("## {}\n\n| structure | n | mean DSC before | after | change | mean NSD before | after | change | "
                    "median DSC before | after |\n|---|---|---|---|---|---|---|---|---|---|\n",
                    heading);
  for (const auto& r : rows) {
    const double db = stat(r.before, "dsc", "mean"), da = stat(r.after, "dsc", "mean");
    const double nb = stat(r.before, "nsd", "mean"), na = stat(r.after, "nsd", "mean");
    const double mb = stat(r.before, "dsc", "median"), ma = stat(r.after, "dsc", "median");
    const double n = stat(r.after, "dsc", "n");
    const auto cls = [](double a, double b) {
      return std::isfinite(a) && std::isfinite(b) ? (b > a ? " class=\"up\"" : b < a ? " class=\"down\"" : "") : "";
    };
    const bool overall = &r == &rows.front();
    html += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td>"
                        "<td{}>{}</td><td>{}</td><td>{}</td></tr>",
                        overall ? " style=\"font-weight:bold\"" : "", html_escape(r.group),
                        std::isfinite(n) ? fmt::format("{:.0f}", n) : "-", cell(db), cell(da), cls(db, da),
                        delta(db, da), cell(nb), cell(na), cls(nb, na), delta(nb, na), cell(mb), cell(ma));
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", overall ? "**" + r.group + "**" : r.group,
                      std::isfinite(n) ? fmt::format("{:.0f}", n) : "-", cell(db), cell(da), delta(db, da), cell(nb),
                      cell(na), delta(nb, na), cell(mb), cell(ma));
  }
  html += "</table>";
  md += "\n";

  // Curves.
  if (!in.run_dir.empty()) {
    const Curves c = read_curves(in.run_dir);
    html += "<h2>Training</h2>";
    html += line_chart_svg("training loss per step", "step", {c.loss, c.loss_avg});
    html += line_chart_svg("validation split", "step", {c.val_dsc, c.val_nsd});
    md += "## Training\n\n";
    if (!c.loss_avg.points.empty())
      md += fmt::format("Training loss (25-step moving average): {:.3f} at step {:.0f}, {:.3f} at step {:.0f}.\n",
                        c.loss_avg.points.front().second, c.loss_avg.points.front().first,
                        c.loss_avg.points.back().second, c.loss_avg.points.back().first);
    if (!c.val_dsc.points.empty()) {
      md += "\n| step | validation mean DSC | mean NSD |\n|---|---|---|\n";
      for (size_t i = 0; i < c.val_dsc.points.size(); ++i)
        md += fmt::format("| {:.0f} | {} | {} |\n", c.val_dsc.points[i].first, cell(c.val_dsc.points[i].second),
                          cell(c.val_nsd.points[i].second));
    }
    md += "\n";
  }

  // Pictures.
  if (!in.images.empty()) {
    html += "<h2>Pictures</h2>";
    md += "## Pictures\n\n";
    for (const auto& [file, caption] : in.images) {
      const std::string png = read_text(file, "a report picture");
      html += fmt::format("<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
                          base64_encode(png), html_escape(fs::path(file).filename().string()), html_escape(caption));
      md += fmt::format("- `{}`: {}\n", file, caption);
    }
  }
  html += html_page_end();
  out.html = std::move(html);
  out.markdown = std::move(md);
  return out;
}

}  // namespace medsam::eval
