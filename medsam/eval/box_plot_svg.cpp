#include "medsam/eval/box_plot_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "medsam/eval/metrics_report.h"
#include "medsam/eval/report_format.h"

namespace medsam::eval {

std::string box_plot_svg(const std::string& title, const std::vector<BoxPlotSeries>& series, int width, int height) {
  // Plot area inside margins; y grows downwards in SVG, so value v sits at top + (1 - v) * plot_h.
  const double left = 44, right = 12, top = 28, bottom = 44;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto y_of = [&](double v) { return top + (1.0 - std::clamp(v, 0.0, 1.0)) * plot_h; };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"boxplot\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<text x=\"{3}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">{2}</text>\n",
      width, height, html_escape(title), width / 2.0);
  // Axis with gridlines every 0.2.
  for (int k = 0; k <= 5; ++k) {
    const double v = k * 0.2, y = y_of(v);
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.1f}</text>\n",
                       left, y, left + plot_w, y, left - 6, y + 4, v);
  }
  out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", left, top,
                     top + plot_h);

  const double slot = series.empty() ? plot_w : plot_w / static_cast<double>(series.size());
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double cx = left + slot * (static_cast<double>(i) + 0.5), half = std::min(slot * 0.3, 40.0);
    const Stats s = compute_stats(series[i].values);
    out += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"middle\">{2}</text>"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\" fill=\"#666\">n = {4}</text>\n",
                       cx, top + plot_h + 16, html_escape(series[i].name), top + plot_h + 30, s.n);
    if (s.n == 0) continue;
    // ref: matplotlib.pyplot.boxplot (whis=1.5): whiskers at the extreme data points inside the fences
    const double iqr = s.q3 - s.q1, lo_fence = s.q1 - 1.5 * iqr, hi_fence = s.q3 + 1.5 * iqr;
    double lo = s.q1, hi = s.q3;
    std::string dots;
    for (double v : series[i].values) {
      if (std::isnan(v)) continue;
      if (v < lo_fence || v > hi_fence) {
        dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"none\" stroke=\"#c33\"/>", cx,
                            y_of(v));
        continue;
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    out += fmt::format(
        "<g class=\"box\" data-median=\"{:.6f}\" data-q1=\"{:.6f}\" data-q3=\"{:.6f}\">"
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#333\"/>"
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#9cc3e6\" stroke=\"#333\"/>"
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d60\" stroke-width=\"2\"/>",
        s.median, s.q1, s.q3, cx, y_of(hi), cx, y_of(lo), cx - half, y_of(s.q3), 2 * half,
        std::max(y_of(s.q1) - y_of(s.q3), 0.5), cx - half, y_of(s.median), cx + half, y_of(s.median));
    for (double w : {lo, hi})
      out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#333\"/>",
                         cx - half / 2, y_of(w), cx + half / 2, y_of(w));
    out += dots + "</g>\n";
  }
  return out + "</svg>\n";
}

}  // namespace medsam::eval
