// The evaluation report as one self-contained HTML page: run facts, summary tables, box plots (inline
// SVG) and a gallery of overlays (PNG embedded as data: URIs, so the page needs no other file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medsam/eval/box_plot_svg.h"
#include "medsam/eval/object_report.h"

namespace medsam::eval {

struct BoxPlot {
  std::string title;                  // e.g. "mr (412 objects)"
  std::vector<BoxPlotSeries> series;  // e.g. DSC and NSD
};

struct GalleryItem {
  std::string caption;            // what the picture shows (case, slice, label, scores)
  std::string file;               // where the PNG was written, relative to the report ("gallery/worst_01.png")
  std::vector<std::uint8_t> png;  // the same bytes, embedded in the page
};

struct HtmlReport {
  std::string title = "medsam evaluation";
  RunInfo info;                        // key/value facts about the run
  std::vector<GroupSummary> summary;   // tables, one per GroupSummary::by
  double tolerance_mm = 2.0;
  std::vector<BoxPlot> plots;          // one <svg> each
  std::vector<GalleryItem> worst, best;
  std::string gallery_note;            // shown instead of the gallery when it is empty (why)
};

std::string html_report(const HtmlReport& report);

}  // namespace medsam::eval
