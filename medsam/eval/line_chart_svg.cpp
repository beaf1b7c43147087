#include "medsam/eval/line_chart_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "medsam/eval/report_format.h"

namespace medsam::eval {

std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::vector<LineSeries>& series,
                           bool y_from_zero, int width, int height) {
  const double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\"><text x=\"{2}\" y=\"16\" text-anchor=\"middle\" "
      "font-size=\"13\">{3}</text>",
      width, height, width / 2, html_escape(title));
  if (!(x0 <= x1)) return out + fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text></svg>", width / 2, height / 2);
  if (y_from_zero) y0 = std::min(y0, 0.0);
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  // The legend gets its own band of rows between the title and the plot, so it never covers a line.
  const auto shown = std::count_if(series.begin(), series.end(), [](const LineSeries& s) {
    return std::any_of(s.points.begin(), s.points.end(),
                       [](const auto& p) { return std::isfinite(p.first) && std::isfinite(p.second); });
  });
  constexpr double kTitle = 28, kLegendRow = 14;
  const double left = 52, right = width - 12, top = kTitle + kLegendRow * static_cast<double>(shown),
               bottom = height - 36;
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  const auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };
  // axes and ticks
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333\"/>", left, bottom, right);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\"/>", left, top, bottom);
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>", px(xv), bottom + 14,
                       std::round(xv * 100) / 100);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>", left - 4, py(yv) + 4, yv);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#eee\"/>", left + 1, py(yv),
                       right);
  }
  out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>", (left + right) / 2, height - 6,
                     html_escape(x_label));
  // series and legend
  int legend_row = 0;
  for (const auto& s : series) {
    std::string pts;
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    if (pts.empty()) continue;
    out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
                       html_escape(s.color), pts);
    if (s.markers)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y))
          out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>", px(x), py(y), html_escape(s.color));
    const double ly = kTitle + kLegendRow * legend_row++ + 2;
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2\"/>"
                       "<text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>",
                       right - 18, ly, right - 4, html_escape(s.color), right - 22, ly + 4, html_escape(s.name));
  }
  return out + "</svg>";
}

}  // namespace medsam::eval
