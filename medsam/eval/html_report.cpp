#include "medsam/eval/html_report.h"

#include <fmt/format.h>

#include "medsam/eval/contour_overlay.h"
#include "medsam/eval/report_format.h"

namespace medsam::eval {

namespace {

std::string colour_css(const std::uint8_t (&c)[3]) { return fmt::format("rgb({},{},{})", c[0], c[1], c[2]); }


std::string summary_tables(const std::vector<GroupSummary>& summary, double tolerance_mm) {
  std::string out, section;
  for (std::size_t i = 0; i < summary.size(); ++i) {
    const auto& row = summary[i];
    if (row.by != section) {
      if (!section.empty()) out += "</table>\n";
      section = row.by;
      out += fmt::format(
          "<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>n</th><th>DSC median</th><th>DSC IQR</th><th>DSC mean</th>"
          "<th>NSD@{}mm median</th><th>NSD IQR</th><th>NSD mean</th></tr>\n",
          group_section_title(section), section == "all" ? "objects" : html_escape(section), tolerance_mm);
    }
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td></tr>\n",
        html_escape(row.group), row.dsc.n, stat_cell(row.dsc, row.dsc.median), stat_cell(row.dsc, row.dsc.q1),
        stat_cell(row.dsc, row.dsc.q3), stat_cell(row.dsc, row.dsc.mean), stat_cell(row.nsd, row.nsd.median),
        stat_cell(row.nsd, row.nsd.q1), stat_cell(row.nsd, row.nsd.q3), stat_cell(row.nsd, row.nsd.mean));
  }
  if (!section.empty()) out += "</table>\n";
  return out;
}

std::string gallery(const std::string& title, const std::vector<GalleryItem>& items) {
  if (items.empty()) return "";
  std::string out = fmt::format("<h3>{}</h3>\n<div class=\"gallery\">\n", html_escape(title));
  for (const auto& item : items)
    out += fmt::format("<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}<br>"
                       "<small>{}</small></figcaption></figure>\n",
                       base64_encode(std::string(item.png.begin(), item.png.end())), html_escape(item.file), html_escape(item.caption), html_escape(item.file));
  return out + "</div>\n";
}

}  // namespace

std::string html_report(const HtmlReport& r) {
  std::string out = html_page_start(r.title);
  if (!r.info.empty()) {
    out += "<ul>\n";
    for (const auto& [k, v] : r.info) out += fmt::format("<li>{}: {}</li>\n", html_escape(k), html_escape(v));
    out += "</ul>\n";
  }
  out += "<h2>Summary</h2>\n" + summary_tables(r.summary, r.tolerance_mm);
  out += "<h2>Box plots</h2>\n<div class=\"plots\">\n";
  for (const auto& p : r.plots) out += box_plot_svg(p.title, p.series);
  out += "</div>\n<h2>Gallery</h2>\n";
  if (r.worst.empty() && r.best.empty()) {
    out += fmt::format("<p>{}</p>\n", html_escape(r.gallery_note.empty() ? "No gallery." : r.gallery_note));
  } else {
    out += fmt::format(
        "<p><span class=\"key\" style=\"background:{}\"></span>ground truth "
        "<span class=\"key\" style=\"background:{}\"></span>prediction "
        "<span class=\"key\" style=\"background:{}\"></span>box prompt</p>\n",
        colour_css(kGtColour), colour_css(kPredColour), colour_css(kBoxColour));
    out += gallery("Worst cases (lowest DSC)", r.worst) + gallery("Best cases (highest DSC)", r.best);
  }
  return out + html_page_end();
}

}  // namespace medsam::eval
