// `medsam prep`: parses options and calls data_prep/prep_run (the algorithm lives there).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <thread>

#include "data_prep/prep_run.h"
#include "medsam/core/error.h"
#include "tools/cli_checks.h"
#include "tools/command.h"

namespace medsam::tools {
namespace {

constexpr const char* kFooter = R"(
Each DATASET.yaml describes one dataset (see configs/prep/colin27_aal.yaml and docs/data_format.md):
  dataset:   name, kind (volume | images_2d | npy | npz), modality (ct, mr, pet, us, xray, endoscopy,
             ...), anatomy, images/labels (file, folder or glob, paired by name; npy: the imgs/ and
             gts/ folders of MedSAM's npy layout; npz: files with imgs + gts, no labels), label names,
             keep_labels / drop_labels / merge_labels
  intensity: mode auto|window|percentile|none; CT window preset (soft_tissue, lung, brain, bone,
             mediastinum, liver) or window: custom with level/width; percentile_low/high (0.5/99.5)
  cleanup:   min_component_3d (26-conn voxels), min_component_2d (8-conn px); 0 disables; defaults as
             MedSAM's scripts: volume 1000 and 100, images_2d/npy/npz 0 (none)
  slicing:   axis z|y|x
  output:    image_size (1024), shard_bytes (300 MB), png_compression (3)
  split:     mode case|slice|none, fractions [train, val, test], block, gap (slice mode)

Output folder: manifest.json, prep_config.yaml (the resolved configs), <split>-NNNNNN.tar (WebDataset: <key>.img.png, <key>.seg.png,
<key>.json), <split>-NNNNNN.idx (binary index) and inputs.tsv (size, time and CRC-32 of each case's
files). A rerun with the same config resumes; a folder made with another config, or whose converted
cases' files changed since, is refused unless --rebuild-changed (those cases and their shard-mates
again) or --overwrite (everything again). Skipped cases whose files changed are tried again. Output is identical for any --workers.
One run at a time per output folder: a second is refused while the first holds <output>/.prep.lock.

Example:
  medsam prep configs/prep/colin27_aal.yaml --output data/colin27 --set output.image_size=256)";

}  // namespace

RunFn add_prep_command(CLI::App& app) {
  auto* sub = app.add_subcommand("prep", "Turn raw datasets (3D volumes, 2D image/mask folders) into sharded, "
                                         "indexed training data");
  struct Options {
    std::vector<std::string> configs;
    std::vector<std::string> overrides;
    prep::PrepOptions run;
  };
  auto opts = std::make_shared<Options>();
  opts->run.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  sub->add_option("datasets", opts->configs, "dataset YAML files (one per dataset)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("-o,--output", opts->run.output, "output folder (created if missing)");
  sub->add_option("--set", opts->overrides,
                  "override a setting in every dataset YAML, e.g. --set output.image_size=256 (repeatable)");
  CLI::Option* workers_option =
      sub->add_option("-j,--workers", opts->run.workers,
                      "cases converted in parallel (default: all cores, fewer when that many of the largest volume "
                      "would not fit in the memory available)")
          ->check(at_least_one())
          ->capture_default_str();
  sub->add_flag("--dry-run", opts->run.dry_run, "convert in memory and report what would be written; write nothing");
  sub->add_flag("--overwrite", opts->run.overwrite,
                "replace an output folder prepared from another config or from input files changed since");
  sub->add_flag("--rebuild-changed", opts->run.rebuild_changed,
                "convert again the cases whose files changed since they were converted (with the other cases of "
                "their shards), keeping the rest");
  sub->add_flag("--retry-skipped", opts->run.retry_skipped,
                "convert the cases an earlier run skipped again, even where their files did not change");
  sub->footer(kFooter);
  return [opts, workers_option] {
    opts->run.workers_default = workers_option->count() == 0;
    if (opts->run.output.empty() && !opts->run.dry_run) throw UsageError("prep: --output is required (or --dry-run)");
    std::vector<prep::PrepConfig> configs;
    for (const auto& f : opts->configs) configs.push_back(prep::load_prep_config(f, opts->overrides));
    const auto summary = prep::run_prep(std::move(configs), opts->run);
    fmt::print("{}", prep::format_summary(summary, opts->run.dry_run));
    return 0;
  };
}

}  // namespace medsam::tools
