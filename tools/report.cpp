// `medsam report`: the fine-tuning report (scripts/demo) from two `medsam eval --checkpoint` outputs and a
// `medsam train` run folder: before/after table, training curves, pictures (medsam/eval/run_report.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <memory>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/eval/run_report.h"
#include "medsam/io/atomic_file.h"
#include "tools/command.h"

namespace medsam::tools {
namespace {

struct ReportOptions {
  eval::RunReportInput input;
  std::vector<std::string> images, facts;
  std::string output, markdown;
  double require_gain = 0;
  bool gate = false;  // --require-gain given
};

std::pair<std::string, std::string> split_eq(const std::string& s, const char* flag) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("{} wants KEY=VALUE, got '{}'", flag, s));
  return {s.substr(0, eq), s.substr(eq + 1)};
}

int run_report(ReportOptions& o) {
  if (o.gate && !std::isfinite(o.require_gain))
    throw UsageError(fmt::format("--require-gain {}: must be a finite number (the least rise of the mean DSC, "
                                 "e.g. 0.05)", o.require_gain));
  // Both files' folders before either is written: a bad --markdown must not leave a lone --output behind.
  check_output_folder(o.output, "--output");
  check_output_folder(o.markdown, "--markdown");
  for (const auto& s : o.images) o.input.images.push_back(split_eq(s, "--image"));
  for (const auto& s : o.facts) o.input.facts.push_back(split_eq(s, "--fact"));
  const eval::RunReport r = eval::make_run_report(o.input);
  // A gate on a difference that is not the fine-tuning's alone would pass or fail for the wrong reason.
  if (!r.mismatches.empty() && o.gate)
    throw UsageError(fmt::format("--require-gain: the two evaluations are not comparable ({}); evaluate both "
                                 "with the same data, split and settings", fmt::join(r.mismatches, "; ")));
  for (const auto& m : r.mismatches) log_warn("report: the evaluations differ: {}", m);
  write_file_atomically(o.output, r.html);
  if (!o.markdown.empty()) write_file_atomically(o.markdown, r.markdown);
  const double gain = r.after_mean_dsc - r.before_mean_dsc;
  fmt::print("wrote {}{}: mean DSC {:.3f} -> {:.3f} ({:+.3f})\n", o.output, o.markdown.empty() ? "" : " and " + o.markdown,
             r.before_mean_dsc, r.after_mean_dsc, gain);
  if (o.gate && !(gain >= o.require_gain)) {
    throw Error(fmt::format("mean DSC changed by {:+.3f}, less than the required {:+.3f} (--require-gain)", gain,
                            o.require_gain));
  }
  return 0;
}

}  // namespace

RunFn add_report_command(CLI::App& app) {
  auto* sub = app.add_subcommand("report", "HTML + Markdown report of a fine-tuning run: before/after scores, curves, pictures");
  auto o = std::make_shared<ReportOptions>();
  sub->add_option("--before", o->input.before_dir, "'medsam eval --output' folder of the starting model")->required();
  sub->add_option("--after", o->input.after_dir, "'medsam eval --output' folder of the fine-tuned model")->required();
  sub->add_option("--run", o->input.run_dir, "'medsam train --output' folder (metrics.jsonl) for the curves");
  sub->add_option("--image", o->images, "FILE.png=caption, embedded in the page (repeatable)");
  sub->add_option("--fact", o->facts, "key=value line shown at the top (repeatable)");
  sub->add_option("--title", o->input.title, "page title")->capture_default_str();
  sub->add_option("--output", o->output, "the HTML file to write")->required();
  sub->add_option("--markdown", o->markdown, "also write the Markdown twin here");
  auto* require_gain = sub->add_option("--require-gain", o->require_gain,
                                       "fail (exit 1) unless the overall mean DSC rose by at least this much");
  return [o, require_gain] {
    o->gate = require_gain->count() > 0;
    return run_report(*o);
  };
}

}  // namespace medsam::tools
