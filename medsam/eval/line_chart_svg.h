// Line charts (training loss, validation Dice over steps) as standalone inline SVG, drawn from the
// numbers alone, for the HTML reports.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace medsam::eval {

struct LineSeries {
  std::string name;                              // legend text
  std::string color = "#1f77b4";                 // any SVG colour
  std::vector<std::pair<double, double>> points; // (x, y); non-finite points are left out
  bool markers = false;                          // a dot on every point (sparse series, e.g. validation)
};

// One <svg>: both axes span the finite data (y from min(0, data) unless `y_from_zero` is false),
// 5 ticks each, a legend in rows above the plot, right-aligned. A chart without finite points says "no data".
std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::vector<LineSeries>& series,
                           bool y_from_zero = true, int width = 520, int height = 280);

}  // namespace medsam::eval
