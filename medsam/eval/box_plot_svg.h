// A box plot of scores in [0, 1] as a standalone inline SVG element, drawn from the numbers alone.
#pragma once

#include <string>
#include <vector>

namespace medsam::eval {

struct BoxPlotSeries {
  std::string name;            // axis label under the box, e.g. "DSC"
  std::vector<double> values;  // NaN values are left out
};

// One <svg> holding one box per series on a shared 0..1 axis: box from Q1 to Q3 (numpy's linear
// quantiles), a line at the median, whiskers to the furthest values within 1.5 IQR of the box
// (Tukey), values beyond them as dots; "n = ..." under each box. A series without finite values is
// drawn as its label and "n = 0" only.
std::string box_plot_svg(const std::string& title, const std::vector<BoxPlotSeries>& series, int width = 360,
                         int height = 260);

}  // namespace medsam::eval
