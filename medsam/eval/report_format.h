// Formatting shared by the eval reports (internal to medsam/eval: includes nlohmann/json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "medsam/core/base64.h"  // base64_encode, for PNGs embedded as data: URIs
#include "medsam/core/csv.h"  // csv_field, for the reports' CSV files
#include "medsam/eval/metrics_report.h"

namespace medsam::eval {

// A score with 6 decimals, "nan" for NaN.
std::string score_text(double x);
// {n, nan, median, q1, q3, iqr, mean}; the statistics are null when n == 0.
nlohmann::json stats_json(const Stats& s);
// "0.1234" or "-" when there is no finite value.
std::string stat_cell(const Stats& s, double x);
// Text safe inside HTML/SVG elements and attribute values: & < > " ' escaped.
std::string html_escape(const std::string& s);
// A self-contained report page up to its <h1>title</h1>, with the one stylesheet every report of the
// project uses (tables, box plots, galleries, gains in green and losses in red); html_page_end() closes it.
std::string html_page_start(const std::string& title);
std::string html_page_end();

}  // namespace medsam::eval
