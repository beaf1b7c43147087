#include "medsam/eval/report_format.h"

#include <fmt/format.h>

#include <cmath>

namespace medsam::eval {

std::string score_text(double x) { return std::isnan(x) ? "nan" : fmt::format("{:.6f}", x); }

nlohmann::json stats_json(const Stats& s) {
  auto value = [&](double x) { return s.n > 0 ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"n", s.n}, {"nan", s.nan}, {"median", value(s.median)}, {"q1", value(s.q1)},
          {"q3", value(s.q3)}, {"iqr", value(s.q3 - s.q1)}, {"mean", value(s.mean)}};
}

std::string stat_cell(const Stats& s, double x) { return s.n > 0 ? fmt::format("{:.4f}", x) : std::string("-"); }

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_page_start(const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>\n"
      "body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\n"
      "table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\n"
      "td:first-child,th:first-child{{text-align:left}} .up{{color:#080}} .down{{color:#b00}}\n"
      ".plots svg{{margin:0 1em 1em 0;border:1px solid #eee}} .gallery{{display:flex;flex-wrap:wrap}}\n"
      "figure{{display:inline-block;margin:6px;vertical-align:top;max-width:320px}}\n"
      "figure img{{width:320px;border:1px solid #ccc;image-rendering:pixelated}}\n"
      "figcaption{{font-size:12px}} .key{{display:inline-block;width:1em;height:0.6em;margin:0 4px}}\n"
      "</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      html_escape(title));
}

std::string html_page_end() { return "</body>\n</html>\n"; }

}  // namespace medsam::eval
