// `medsam bench prep`: conversion throughput (slices/s, per worker) and bytes per stored sample of a
// real `medsam prep` run. `medsam bench index`: memory and open time of the shard indexes of a
// MedSAM-sized dataset (1,570,263 samples by default), synthesised: real .idx files, sparse .tar files
// of the right size, a manifest; then opened the way training opens them (TrainingDataset).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/types.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data_prep/prep_run.h"
#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/data/dataset.h"
#include "medsam/data/manifest.h"
#include "medsam/data/shard_index.h"
#include "medsam/io/atomic_file.h"
#include "medsam/io/tar_writer.h"
#include "tools/bench.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Current resident set size (VmRSS) in MiB.
double rss_mib() { return bench::status_mib("VmRSS:"); }

// The file that marks a folder as a bench's own scratch: the benches overwrite only such folders (or empty
// or new ones), never a dataset `medsam prep` made that --output/--dir happened to name.
constexpr const char* kBenchMarker = ".medsam_bench_scratch";

std::string scratch_dir(const std::string& given, const char* what) {
  const std::string dir =
      !given.empty() ? given : (fs::temp_directory_path() / fmt::format("medsam_bench_{}_{}", what, ::getpid())).string();
  std::error_code ec;
  const std::vector<DirectoryEntry> entries = list_directory(dir, ec);  // a missing folder lists as empty
  const bool marked = std::any_of(entries.begin(), entries.end(), [](const auto& e) { return e.name == kBenchMarker; });
  if (!entries.empty() && !marked)
    throw UsageError(fmt::format("bench {}: {} is not empty and not a bench's scratch folder (no {}): the bench "
                                 "overwrites what it finds there, so name a new or empty folder",
                                 what, dir, kBenchMarker));
  fs::create_directories(dir);
  std::ofstream(dir + "/" + kBenchMarker) << "written by medsam bench " << what << "; safe to delete\n";
  return dir;
}

// ---- prep ----

struct PrepBenchOptions {
  std::vector<std::string> configs;
  std::vector<std::string> overrides;
  std::string output;
  int workers = 1;
  int threads = 1;
  bool keep = false;
};

int run_prep_bench(const PrepBenchOptions& o) {
  torch::set_num_threads(o.threads);
  std::vector<prep::PrepConfig> configs;
  for (const auto& f : o.configs) configs.push_back(prep::load_prep_config(f, o.overrides));
  prep::PrepOptions run;
  run.output = scratch_dir(o.output, "prep");
  run.workers = o.workers;
  run.overwrite = true;
  if (fs::exists(run.output + "/manifest.json")) fs::remove(run.output + "/manifest.json");  // never "resume"
  const auto t0 = Clock::now();
  const auto s = prep::run_prep(std::move(configs), run);
  const double seconds = seconds_since(t0);
  const int size = prep::load_prep_config(o.configs.front(), o.overrides).output.image_size;
  fmt::print("prep {} -> {} ({}x{} stored, workers={}, intra-op threads={}): {} cases, {} slices, {} objects in "
             "{:.2f} s = {:.2f} slices/s ({:.2f} per worker); {:.1f} KB/sample in tar ({} bytes), index {:.1f} "
             "B/sample\n",
             fmt::join(o.configs, " "), run.output, size, size, o.workers, torch::get_num_threads(), s.cases_converted,
             s.samples, s.objects, seconds, s.samples / seconds, s.samples / seconds / o.workers,
             s.samples ? s.tar_bytes / 1024.0 / s.samples : 0.0, s.tar_bytes,
             s.samples ? double(s.index_bytes) / s.samples : 0.0);
  if (!s.skipped.empty()) fmt::print("  {} cases skipped (first: {}: {})\n", s.skipped.size(), s.skipped[0].first, s.skipped[0].second);
  if (!o.keep && o.output.empty()) remove_tree(run.output);
  return 0;
}

RunFn add_prep_bench(CLI::App& sub) {
  auto o = std::make_shared<PrepBenchOptions>();
  sub.add_option("datasets", o->configs, "dataset YAML files (as for medsam prep)")->required()->check(CLI::ExistingFile);
  sub.add_option("--set", o->overrides, "override, e.g. --set output.image_size=1024 (repeatable)");
  sub.add_option("-o,--output", o->output, "output folder (default: a temporary folder, removed afterwards)");
  sub.add_option("-j,--workers", o->workers, "cases converted in parallel")->capture_default_str()->check(at_least_one());
  sub.add_option("--threads", o->threads, "LibTorch intra-op threads")->capture_default_str()->check(at_least_one());
  sub.add_flag("--keep", o->keep, "keep the temporary output folder");
  return [o] { return run_prep_bench(*o); };
}

// ---- index ----

struct IndexBenchOptions {
  std::int64_t samples = 1570263;  // MedSAM's image-mask pairs
  int objects = 1;                 // object records per sample
  int per_shard = 2000;            // ~300 MB shards at ~150 KB per 1024^2 sample
  int slices_per_case = 150;       // one case name per this many samples
  std::string dir;
  bool keep = false;
};

// One synthetic shard index: plausible member sizes (100 KB image, 20 KB labels, 600 B JSON), case names,
// `objects` records per sample. Returns the index; the caller writes it and a sparse tar of its size.
data::ShardIndex synthetic_index(std::int64_t first, std::int64_t count, const IndexBenchOptions& o) {
  data::ShardIndex idx;
  std::uint64_t offset = 512;  // data of the first member follows its header
  std::string last_case;
  std::uint32_t case_offset = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t global = first + i;
    const std::string case_name = fmt::format("case{:07d}", global / o.slices_per_case);
    if (case_name != last_case) {
      case_offset = static_cast<std::uint32_t>(idx.strings.size());
      idx.strings += case_name;
      idx.strings.push_back('\0');
      last_case = case_name;
    }
    data::SampleRecord r{};
    r.img_offset = offset;
    r.img_bytes = 100000 + static_cast<std::uint32_t>(global % 997);
    r.seg_bytes = 20000;
    r.json_bytes = 600;
    r.case_name = case_offset;
    r.slice = static_cast<std::uint32_t>(global % o.slices_per_case);
    r.first_object = static_cast<std::uint32_t>(idx.objects.size());
    r.object_count = static_cast<std::uint16_t>(o.objects);
    r.height = r.width = 1024;
    r.modality = static_cast<std::uint8_t>(1 + global % 3);
    r.channels = 1;
    for (int k = 0; k < o.objects; ++k)
      idx.objects.push_back({static_cast<std::uint16_t>(k + 1), 100, 120, 400, 380, 0, 50000});
    idx.samples.push_back(r);
    offset = data::ShardIndex::json_offset(r) + io::tar_padded(r.json_bytes) + 512;
  }
  idx.header.tar_bytes = offset - 512 + 1024;  // two zero blocks end a tar
  return idx;
}

int run_index_bench(const IndexBenchOptions& o) {
  const std::string dir = scratch_dir(o.dir, "index");
  fs::create_directories(dir);
  data::Manifest m;
  m.created_by = "medsam bench index (synthetic)";
  m.complete = true;
  m.image_size = 1024;
  m.datasets.push_back({"synthetic", "ct", "", {}});
  const auto t_write = Clock::now();
  std::uint64_t index_bytes = 0;
  for (std::int64_t first = 0, shard = 0; first < o.samples; first += o.per_shard, ++shard) {
    const std::int64_t count = std::min<std::int64_t>(o.per_shard, o.samples - first);
    const data::ShardIndex idx = synthetic_index(first, count, o);
    const std::string name = fmt::format("train-{:06d}", shard);
    const std::string bytes = idx.serialize();
    write_file_atomically(dir + "/" + name + ".idx", bytes);
    {
      std::ofstream tar(dir + "/" + name + ".tar", std::ios::binary | std::ios::trunc);
    }
    fs::resize_file(dir + "/" + name + ".tar", idx.header.tar_bytes);  // sparse: no data blocks
    data::ManifestShard ms;
    ms.info.name = name;
    ms.info.samples = static_cast<std::uint64_t>(count);
    ms.info.objects = idx.objects.size();
    ms.info.tar_bytes = idx.header.tar_bytes;
    ms.info.index_bytes = bytes.size();
    index_bytes += bytes.size();
    ms.cases.push_back(fmt::format("synthetic/case{:07d}", first / o.slices_per_case));
    m.shards.push_back(ms);
  }
  m.by_split["train"] = {static_cast<std::uint64_t>(o.samples), static_cast<std::uint64_t>(o.samples * o.objects)};
  m.save(dir + "/manifest.json");
  fmt::print("index: wrote {} shards, {} samples x {} object(s), {:.1f} MB of .idx in {:.1f} s ({})\n",
             m.shards.size(), o.samples, o.objects, index_bytes / 1e6, seconds_since(t_write), dir);

  // 1) The indexes alone, as ShardReader keeps them.
  {
    const double rss0 = rss_mib();
    const auto t0 = Clock::now();
    std::vector<data::ShardIndex> all;
    std::size_t bytes = 0;
    for (const auto& s : m.shards) {
      all.push_back(data::ShardIndex::load(dir + "/" + s.info.name + ".idx"));
      bytes += all.back().memory_bytes();
    }
    fmt::print("index: load {} .idx files: {:.2f} s; index memory {:.1f} MB ({:.1f} B/sample), RSS +{:.0f} MiB\n",
               all.size(), seconds_since(t0), bytes / 1e6, double(bytes) / o.samples, rss_mib() - rss0);
  }
  // 2) What training opens: manifest, every shard (index + tar descriptor), the item list.
  {
    bench::reset_peak_rss();
    const double rss0 = rss_mib();
    const auto t0 = Clock::now();
    const data::TrainingDataset ds(dir, "train");
    const double open_s = seconds_since(t0);
    fmt::print("index: TrainingDataset open: {:.2f} s for {} samples ({} shards); RSS +{:.0f} MiB (peak during open "
               "+{:.0f} MiB)\n",
               open_s, ds.size(), m.shards.size(), rss_mib() - rss0, bench::peak_rss_mib() - rss0);
  }
  if (!o.keep && o.dir.empty()) remove_tree(dir);
  return 0;
}

RunFn add_index_bench(CLI::App& sub) {
  auto o = std::make_shared<IndexBenchOptions>();
  sub.add_option("--samples", o->samples, "samples in the synthetic dataset")->capture_default_str()->check(at_least_one());
  sub.add_option("--objects", o->objects, "object records per sample")->capture_default_str()->check(CLI::Range(1, 100));
  sub.add_option("--per-shard", o->per_shard, "samples per shard")->capture_default_str()->check(at_least_one());
  sub.add_option("--dir", o->dir, "where to write it (default: a temporary folder, removed afterwards)");
  sub.add_flag("--keep", o->keep, "keep the temporary folder");
  return [o] { return run_index_bench(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("prep", "medsam prep throughput (slices/s per worker) and bytes per stored sample", add_prep_bench);
MEDSAM_BENCH_KIND("index", "shard index memory and open time of a synthetic MedSAM-sized (1.57M) dataset",
                  add_index_bench);

}  // namespace medsam::tools
