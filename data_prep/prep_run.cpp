// Orchestration of a prep run: case list, parallel conversion, ordered writing, commits, resume.
//
// Determinism: cases are converted in parallel but written strictly in case order, and shards close
// only between cases, so the bytes depend on the inputs and config alone, not on --workers or timing.
// Resume: after any open shard passes output.shard_bytes, every open shard is finished and the
// manifest is rewritten (a commit); the manifest lists only committed shards and cases. A rerun with
// the same config keeps those, deletes anything uncommitted (*.tmp, unlisted shards) and continues with
// the next case, producing the same files an uninterrupted run would.
#include "data_prep/prep_run.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "data_prep/case_warnings.h"
#include "data_prep/cases.h"
#include "data_prep/convert_case.h"
#include "data_prep/input_record.h"
#include "data_prep/labels.h"
#include "data_prep/output_lock.h"
#include "data_prep/prep_workers.h"
#include "data_prep/progress.h"
#include "data_prep/split.h"
#include "medsam/core/directory.h"
#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/core/memory_available.h"
#include "medsam/core/version.h"
#include "medsam/io/atomic_file.h"
#include "medsam/data/checksum.h"
#include "medsam/data/manifest.h"
#include "medsam/data/modality.h"
#include "medsam/data/shard_format.h"
#include "medsam/data/shard_index.h"

namespace medsam::prep {
namespace fs = std::filesystem;
namespace {

struct Job {
  std::size_t dataset = 0;
  CaseSource source;
  data::Split split = data::Split::kTrain;
  std::string id;  // "<dataset>/<case>"
};

struct Result {
  CaseOutput output;
  std::string error;  // non-empty: skipped with this reason
  CaseInputs inputs;  // stamped before conversion
};

constexpr const char* kInputRecords = "inputs.tsv";

// Only the names prep itself writes: an output folder may also hold the user's own .tar files (the Medical
// Segmentation Decathlon ships its datasets as Task03_Liver.tar), which are never prep's to delete.
bool is_prep_output(const fs::path& p) {
  static const std::regex shard(R"((train|val|test)-\d{6}\.(tar|idx)(\.tmp)?)");
  const auto name = p.filename().string();
  return std::regex_match(name, shard) || name == "manifest.json" || name == "manifest.json.tmp" ||
         name == "prep_config.yaml" || name == "prep_config.yaml.tmp" || name == kInputRecords;
}

// Removes files a run did not commit (or, with `all`, every prep output) from `dir`.
void clean_output(const std::string& dir, const data::Manifest* keep, bool all) {
  std::set<std::string> listed = {"manifest.json", "prep_config.yaml", kInputRecords};
  if (keep)
    for (const auto& s : keep->shards) {
      listed.insert(s.info.name + ".tar");
      listed.insert(s.info.name + ".idx");
    }
  for (const auto& e : list_directory(dir)) {
    if (!e.is_regular_file || !is_prep_output(e.path)) continue;
    if (!all && listed.count(e.name)) continue;
    log_info("prep: removing {} {}", all ? "earlier" : "uncommitted", e.path);
    fs::remove(e.path);
  }
}

// A crash between appending input records and saving the manifest leaves records the manifest does not
// count; they are cut off so the next commit appends after the committed ones.
void cut_uncommitted_input_records(const std::string& dir, std::uint64_t committed) {
  const auto path = dir + "/" + kInputRecords;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size <= committed) return;  // absent, or short (read_input_records reports that)
  log_info("prep: cutting {} uncommitted bytes from {}", size - committed, path);
  fs::resize_file(path, committed);
}

struct InputChanges {
  std::vector<std::pair<std::string, std::string>> converted;  // committed cases whose files changed: id, how
  std::set<std::string> retry;                                  // skipped cases to convert again
  std::size_t unrecorded = 0;                                   // committed cases without a record
};

// Compares the files of every committed and skipped case with what inputs.tsv recorded of them.
InputChanges find_input_changes(const std::string& dir, const data::Manifest& old, const std::vector<Job>& jobs,
                                bool retry_all_skipped) {
  const auto records = read_input_records(dir + "/" + kInputRecords, old.input_record_bytes);
  std::map<std::string, const Job*> by_id;
  for (const auto& j : jobs) by_id[j.id] = &j;
  InputChanges out;
  auto change = [&](const std::string& id) -> std::optional<std::string> {
    const auto r = records.find(id);
    const auto j = by_id.find(id);
    if (r == records.end() || j == by_id.end()) return std::nullopt;
    auto why = describe_input_change(r->second, j->second->source.image, j->second->source.labels);
    return why.empty() ? std::nullopt : std::optional<std::string>(why);
  };
  for (const auto& id : old.done_cases) {
    if (!records.count(id)) ++out.unrecorded;
    if (auto why = change(id)) out.converted.emplace_back(id, *why);
  }
  for (const auto& [id, reason] : old.skipped) {
    if (retry_all_skipped) {
      out.retry.insert(id);
    } else if (auto why = change(id)) {
      log_info("prep: trying {} again ({}; skipped before: {})", id, *why, reason);
      out.retry.insert(id);
    }
  }
  return out;
}

std::string changed_inputs_message(const std::string& dir, const InputChanges& c) {
  std::string list;
  const std::size_t shown = std::min<std::size_t>(c.converted.size(), 10);
  for (std::size_t i = 0; i < shown; ++i) list += fmt::format("\n  {}: {}", c.converted[i].first, c.converted[i].second);
  if (c.converted.size() > shown) list += fmt::format("\n  ... and {} more", c.converted.size() - shown);
  return fmt::format("{}: the input files of {} converted case(s) changed after they were converted, so their "
                     "samples in the committed shards are stale:{}\nrestore those files, or rerun with "
                     "--rebuild-changed to convert those cases (and their shard-mates) again, or with --overwrite to "
                     "prepare the whole folder again",
                     dir, c.converted.size(), list);
}

// The shard number in "<split>-NNNNNN".
int shard_number(const std::string& name) { return std::stoi(name.substr(name.rfind('-') + 1)); }

// Drops the committed shards that hold any of `cases`, and every case those shards hold, from the
// manifest; the counts are recomputed from the kept shards' indexes (the manifest keeps no per-shard
// breakdown). The cases go back to the to-do list and are converted again into new shards; their old
// files become unlisted and clean_output removes them. Not the bytes of a fresh prep (shard numbers
// and order differ); the same samples and counts.
std::size_t drop_shards_holding(const std::string& dir, data::Manifest& m, const std::set<std::string>& cases) {
  std::vector<data::ManifestShard> kept;
  std::set<std::string> undone = cases;  // also a changed case that left no sample in any shard
  for (auto& s : m.shards) {
    const bool hit = std::any_of(s.cases.begin(), s.cases.end(), [&](const auto& c) { return cases.count(c) > 0; });
    if (hit) undone.insert(s.cases.begin(), s.cases.end());
    else kept.push_back(std::move(s));
  }
  const std::size_t dropped = m.shards.size() - kept.size();
  m.shards = std::move(kept);
  m.done_cases.erase(std::remove_if(m.done_cases.begin(), m.done_cases.end(),
                                    [&](const auto& c) { return undone.count(c) > 0; }),
                     m.done_cases.end());
  m.by_split.clear();
  m.by_modality.clear();
  m.by_dataset.clear();
  m.objects_by_label.clear();
  for (const auto& s : m.shards) {
    const auto index = data::ShardIndex::load(dir + "/" + s.info.name + ".idx");
    for (const auto& rec : index.samples) {
      if (rec.dataset >= m.datasets.size())
        throw Error(fmt::format("{}/{}.idx: sample of dataset {} (manifest lists {})", dir, s.info.name, rec.dataset,
                                m.datasets.size()));
      const auto& ds = m.datasets[rec.dataset];
      for (auto* c : {&m.by_split[data::split_name(static_cast<data::Split>(rec.split))], &m.by_modality[ds.modality],
                      &m.by_dataset[ds.name]}) {
        c->samples += 1;
        c->objects += rec.object_count;
      }
      for (std::uint32_t o = 0; o < rec.object_count; ++o) {
        const auto label = index.objects.at(rec.first_object + o).label;
        const auto it = ds.labels.find(label);
        m.objects_by_label[fmt::format("{}:{} {}", ds.name, label, it == ds.labels.end() ? "" : it->second)] += 1;
      }
    }
  }
  m.complete = false;
  return dropped;
}

void check_committed_shards(const std::string& dir, const data::Manifest& m) {
  for (const auto& s : m.shards) {
    const auto tar = dir + "/" + s.info.name + ".tar", idx = dir + "/" + s.info.name + ".idx";
    std::error_code ec;
    if (fs::file_size(tar, ec) != s.info.tar_bytes || ec || fs::file_size(idx, ec) != s.info.index_bytes || ec)
      throw Error(fmt::format("{}: committed shard {} is missing or has another size; the folder was changed "
                              "after prep (rerun with --overwrite)",
                              dir, s.info.name));
  }
}

}  // namespace

PrepSummary run_prep(std::vector<PrepConfig> configs, const PrepOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (configs.empty()) throw UsageError("prep needs at least one dataset config");
  const auto& out_cfg = configs.front().output;
  std::set<std::string> names;
  for (const auto& c : configs) {
    if (c.output.image_size != out_cfg.image_size)
      throw UsageError(fmt::format("datasets {} and {} ask for different output.image_size ({} vs {})",
                                   configs.front().dataset.name, c.dataset.name, out_cfg.image_size,
                                   c.output.image_size));
    if (c.output.shard_bytes != out_cfg.shard_bytes)  // one output folder, one shard size
      throw UsageError(fmt::format("datasets {} and {} ask for different output.shard_bytes ({} vs {})",
                                   configs.front().dataset.name, c.dataset.name, out_cfg.shard_bytes,
                                   c.output.shard_bytes));
    if (!names.insert(c.dataset.name).second)
      throw UsageError(fmt::format("dataset name '{}' is used twice", c.dataset.name));
  }
  if (configs.size() > 65535) throw UsageError("at most 65535 datasets per prep");

  // Cases, splits, label names, and the hash that ties an output folder to this exact config.
  std::vector<std::map<int, std::string>> label_names;
  std::vector<Job> jobs;
  // The hash covers the config, the case list and the label names. Label file paths and contents are in
  // inputs.tsv instead (find_input_changes), so an edited or newly paired label file is named, not
  // reported as another config. Folders made before inputs.tsv carry the legacy hash (paths of both files).
  std::string hash_text = fmt::format("medsam-shards v{}\ninputs recorded\n", data::kShardFormatVersion);
  std::string legacy_hash_text = fmt::format("medsam-shards v{}\n", data::kShardFormatVersion);
  data::Manifest m;
  m.created_by = "medsam " + version_string();
  m.image_size = out_cfg.image_size;
  for (std::size_t d = 0; d < configs.size(); ++d) {
    auto& c = configs[d];
    label_names.push_back(load_label_names(c.dataset, c.resolve(c.dataset.label_names_file)));
    const auto cases = find_cases(c);
    std::vector<std::string> ids;
    for (const auto& cs : cases) ids.push_back(c.dataset.name + "/" + cs.name);
    const auto splits = c.split.mode == "case" ? split_cases(ids, c.split.fractions)
                                               : std::vector<data::Split>(ids.size(), data::Split::kTrain);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      jobs.push_back({d, cases[i], splits[i], ids[i]});
      hash_text += fmt::format("{}|{}\n", ids[i], cases[i].image);
      legacy_hash_text += fmt::format("{}|{}|{}\n", ids[i], cases[i].image, cases[i].labels);
    }
    for (const auto& [id, name] : label_names.back()) hash_text += fmt::format("label {}={}\n", id, name);
    hash_text += prep_config_yaml(c);
    legacy_hash_text += prep_config_yaml(c);
    data::ManifestDataset md{c.dataset.name, data::modality_name(data::parse_modality(c.dataset.modality)),
                             c.dataset.anatomy, label_names.back()};
    m.datasets.push_back(md);
  }
  m.config_hash = fmt::format("{:08x}", data::crc32_update(0, hash_text.data(), hash_text.size()));
  const auto legacy_hash =
      fmt::format("{:08x}", data::crc32_update(0, legacy_hash_text.data(), legacy_hash_text.size()));

  PrepSummary summary;
  summary.cases_total = static_cast<std::int64_t>(jobs.size());
  const std::string dir = opt.output;
  const std::string manifest_path = dir + "/manifest.json";
  std::optional<OutputLock> lock;  // held until the run returns or throws
  if (!opt.dry_run) {
    fs::create_directories(dir);
    lock.emplace(dir);
    if (fs::exists(manifest_path)) {
      auto old = data::Manifest::load(manifest_path);
      if (old.config_hash != m.config_hash && old.config_hash != legacy_hash) {
        if (!opt.overwrite)
          throw UsageError(fmt::format("{}: holds a prep made from another config or input list (config_hash {} here, "
                                       "{} now); pass --overwrite to replace it or choose another --output",
                                       dir, old.config_hash, m.config_hash));
        clean_output(dir, nullptr, true);
      } else {
        check_committed_shards(dir, old);
        cut_uncommitted_input_records(dir, old.input_record_bytes);
        const auto changes = find_input_changes(dir, old, jobs, opt.retry_skipped);
        if (changes.unrecorded > 0)
          log_warn("prep: {} converted cases in {} have no input record (prepared by an earlier medsam); edits to "
                   "their files cannot be noticed",
                   changes.unrecorded, dir);
        if (!changes.converted.empty() && !opt.rebuild_changed) {
          if (!opt.overwrite) throw UsageError(changed_inputs_message(dir, changes));
          log_warn("prep: --overwrite: preparing {} again, {} converted cases' inputs changed", dir,
                   changes.converted.size());
          clean_output(dir, nullptr, true);
        } else {
          const std::string hash = m.config_hash;
          m = old;
          m.config_hash = hash;
          if (!changes.converted.empty()) {
            std::set<std::string> changed;
            for (const auto& [id, why] : changes.converted) {
              log_info("prep: converting {} again: {}", id, why);
              changed.insert(id);
            }
            const auto before = m.done_cases.size();
            const auto dropped = drop_shards_holding(dir, m, changed);
            summary.cases_rebuilt = static_cast<std::int64_t>(before - m.done_cases.size());
            log_warn("prep: --rebuild-changed: {} shards dropped, {} cases ({} changed) to convert again", dropped,
                     summary.cases_rebuilt, changed.size());
            m.save(manifest_path);  // the dropped shards are unlisted before anything else happens
          }
          if (!changes.retry.empty()) {
            m.skipped.erase(std::remove_if(m.skipped.begin(), m.skipped.end(),
                                           [&](const auto& s) { return changes.retry.count(s.first) > 0; }),
                            m.skipped.end());
            summary.cases_retried = static_cast<std::int64_t>(changes.retry.size());
          }
          if (old.complete && changes.retry.empty() && changes.converted.empty()) {
            summary.already_complete = true;
          } else {
            log_info("prep: resuming in {}: {} cases and {} shards already committed{}", dir, old.done_cases.size(),
                     old.shards.size(),
                     changes.retry.empty() ? "" : fmt::format(", {} skipped cases to try again", changes.retry.size()));
            m.complete = false;
          }
        }
      }
    }
    clean_output(dir, &m, false);
    std::string yaml;
    for (auto& c : configs) yaml += "---\n" + prep_config_yaml(c);
    if (!summary.already_complete) write_file_atomically(dir + "/prep_config.yaml", yaml);
  }

  std::set<std::string> finished(m.done_cases.begin(), m.done_cases.end());
  for (const auto& s : m.skipped) finished.insert(s.first);
  std::vector<const Job*> todo;
  for (const auto& j : jobs)
    if (!finished.count(j.id)) todo.push_back(&j);
  summary.cases_resumed = summary.cases_total - static_cast<std::int64_t>(todo.size());

  // After the last committed number of each split (numbers have gaps once --rebuild-changed dropped shards).
  std::array<int, 3> next_shard{0, 0, 0};
  for (const auto& s : m.shards) {
    auto& next = next_shard[static_cast<int>(s.info.split)];
    next = std::max(next, shard_number(s.info.name) + 1);
  }

  // Pending = converted since the last commit.
  std::array<std::unique_ptr<data::ShardWriter>, 3> writers;
  std::array<std::vector<std::string>, 3> writer_cases;
  std::array<std::uint64_t, 3> dry_bytes{0, 0, 0};
  std::vector<std::string> pending_done;
  std::vector<std::pair<std::string, std::string>> pending_skipped;
  std::string pending_inputs;  // inputs.tsv lines of the cases since the last commit
  data::Manifest pending_counts;

  auto commit = [&](bool final) {
    for (int s = 0; s < 3; ++s) {
      if (opt.dry_run) {
        if (dry_bytes[s] > 0) {
          data::ShardInfo info;
          info.name = fmt::format("{}-{:06d}", data::split_name(static_cast<data::Split>(s)), next_shard[s]++);
          info.split = static_cast<data::Split>(s);
          info.tar_bytes = dry_bytes[s] + 1024;
          m.shards.push_back({info, writer_cases[s]});
        }
        dry_bytes[s] = 0;
        writer_cases[s].clear();
        continue;
      }
      if (!writers[s]) continue;
      auto info = writers[s]->finish();
      m.shards.push_back({info, writer_cases[s]});
      writers[s].reset();
      writer_cases[s].clear();
    }
    m.done_cases.insert(m.done_cases.end(), pending_done.begin(), pending_done.end());
    m.skipped.insert(m.skipped.end(), pending_skipped.begin(), pending_skipped.end());
    auto merge = [](auto& into, const auto& from) {
      for (const auto& [k, c] : from) {
        into[k].samples += c.samples;
        into[k].objects += c.objects;
      }
    };
    merge(m.by_split, pending_counts.by_split);
    merge(m.by_modality, pending_counts.by_modality);
    merge(m.by_dataset, pending_counts.by_dataset);
    for (const auto& [k, n] : pending_counts.objects_by_label) m.objects_by_label[k] += n;
    pending_done.clear();
    pending_skipped.clear();
    pending_counts = data::Manifest{};
    m.complete = final;
    if (!opt.dry_run) {
      if (!pending_inputs.empty()) m.input_record_bytes = append_input_records(dir + "/" + kInputRecords, pending_inputs);
      m.save(manifest_path);
    }
    pending_inputs.clear();
  };

  auto write_result = [&](const Job& job, Result& r) {
    if (!opt.dry_run) pending_inputs += format_input_record(r.inputs);
    if (!r.error.empty()) {
      log_warn("prep: skipping {}: {}", job.id, r.error);
      pending_skipped.emplace_back(job.id, r.error);
      return;
    }
    summary.slices_dropped_by_gap += r.output.slices_dropped_by_gap;
    const auto& ds = m.datasets[job.dataset];
    for (const auto& s : r.output.samples) {
      const int sp = static_cast<int>(s.split);
      if (writer_cases[sp].empty() || writer_cases[sp].back() != job.id) writer_cases[sp].push_back(job.id);
      if (opt.dry_run) {
        dry_bytes[sp] += s.tar_bytes();
      } else {
        if (!writers[sp])
          writers[sp] = std::make_unique<data::ShardWriter>(
              dir, fmt::format("{}-{:06d}", data::split_name(s.split), next_shard[sp]++), s.split);
        writers[sp]->add(s);
      }
      const std::uint64_t nobj = s.objects.size();
      for (auto* c : {&pending_counts.by_split[data::split_name(s.split)], &pending_counts.by_modality[ds.modality],
                      &pending_counts.by_dataset[ds.name]}) {
        c->samples += 1;
        c->objects += nobj;
      }
      for (const auto& o : s.objects) {
        const auto it = ds.labels.find(o.label);
        pending_counts.objects_by_label[fmt::format("{}:{} {}", ds.name, o.label,
                                                    it == ds.labels.end() ? "" : it->second)] += 1;
      }
    }
    pending_done.push_back(job.id);
    bool full = false;
    for (int s = 0; s < 3; ++s)
      full |= opt.dry_run ? dry_bytes[s] >= static_cast<std::uint64_t>(out_cfg.shard_bytes)
                          : (writers[s] && writers[s]->bytes() >= static_cast<std::uint64_t>(out_cfg.shard_bytes));
    if (full) commit(false);
  };

  if (!summary.already_complete) {
    // Conversion: workers claim cases in order; the writer consumes them in order; at most 2 per
    // worker wait in memory.
    int workers = std::max(1, opt.workers);
    if (opt.workers_default) {
      std::vector<std::string> volumes;
      for (const auto& job : jobs)
        if (configs[job.dataset].dataset.kind == "volume") volumes.push_back(job.source.image);
      const WorkerChoice choice = choose_prep_workers(workers, volumes, available_memory_bytes());
      if (!choice.reason.empty()) log_info("{}", choice.reason);
      workers = choice.workers;
    }
    const int saved_threads = torch::get_num_threads();
    if (workers > 1) torch::set_num_threads(1);  // parallel over cases instead of inside each op
    std::mutex mu;
    std::condition_variable cv;
    DatasetWarnings warnings;
    std::map<std::size_t, Result> ready;
    std::size_t claimed = 0, written = 0;
    bool abort = false;
    const std::size_t window = static_cast<std::size_t>(workers) * 2;
    auto work = [&] {
      for (;;) {
        std::size_t i;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return abort || claimed < written + window; });
          if (abort || claimed >= todo.size()) return;
          i = claimed++;
        }
        Result r;
        const Job& job = *todo[i];
        if (!opt.dry_run) r.inputs = stamp_case_inputs(job.id, job.source.image, job.source.labels);
        try {
          CaseContext ctx{&configs[job.dataset], static_cast<std::uint16_t>(job.dataset), &label_names[job.dataset],
                          job.split, &warnings};
          const auto& kind = configs[job.dataset].dataset.kind;
          r.output = kind == "volume"  ? convert_volume_case(job.source, ctx)
                     : kind == "npy"   ? convert_npy_case(job.source, ctx)
                     : kind == "npz"   ? convert_npz_case(job.source, ctx)
                                       : convert_image2d_case(job.source, ctx);
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        std::lock_guard<std::mutex> lock(mu);
        ready.emplace(i, std::move(r));
        cv.notify_all();
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    Progress progress("prep", static_cast<std::int64_t>(todo.size()));
    std::int64_t samples_written = 0;
    try {
      for (; written < todo.size();) {
        Result r;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return ready.count(written) > 0; });
          r = std::move(ready[written]);
          ready.erase(written);
        }
        write_result(*todo[written], r);
        samples_written += static_cast<std::int64_t>(r.output.samples.size());
        if (r.error.empty()) ++summary.cases_converted;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++written;
          cv.notify_all();
        }
        progress.update(static_cast<std::int64_t>(written), fmt::format("cases, {} slices", samples_written));
      }
      commit(true);
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mu);
        abort = true;
        cv.notify_all();
      }
      for (auto& t : pool) t.join();
      torch::set_num_threads(saved_threads);
      throw;
    }
    for (auto& t : pool) t.join();
    torch::set_num_threads(saved_threads);
  }

  summary.skipped = m.skipped;
  for (const auto& [k, c] : m.by_split) {
    summary.samples_by_split[k] = static_cast<std::int64_t>(c.samples);
    summary.objects_by_split[k] = static_cast<std::int64_t>(c.objects);
    summary.samples += static_cast<std::int64_t>(c.samples);
    summary.objects += static_cast<std::int64_t>(c.objects);
  }
  for (const auto& [k, c] : m.by_modality) summary.objects_by_modality[k] = static_cast<std::int64_t>(c.objects);
  for (const auto& [k, n] : m.objects_by_label) summary.objects_by_label[k] = static_cast<std::int64_t>(n);
  for (const auto& s : m.shards) {
    summary.tar_bytes += static_cast<std::int64_t>(s.info.tar_bytes);
    summary.index_bytes += static_cast<std::int64_t>(s.info.index_bytes);
  }
  if (opt.dry_run)
    summary.index_bytes = static_cast<std::int64_t>(m.shards.size() * sizeof(data::IndexHeader) +
                                                    summary.samples * sizeof(data::SampleRecord) +
                                                    summary.objects * sizeof(data::ObjectRecord));
  summary.shards = static_cast<std::int64_t>(m.shards.size());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

std::string format_summary(const PrepSummary& s, bool dry_run) {
  std::string out = dry_run ? "prep dry run (nothing written):\n" : "prep summary:\n";
  if (s.already_complete) out += "  output was already complete for this config; nothing to do\n";
  out += fmt::format("  cases: {} total, {} converted now, {} from an earlier run, {} skipped\n", s.cases_total,
                     s.cases_converted, s.cases_resumed, s.skipped.size());
  if (s.cases_rebuilt)
    out += fmt::format("    {} converted again (--rebuild-changed: their files, or a shard-mate's, changed)\n",
                       s.cases_rebuilt);
  if (s.cases_retried)
    out += fmt::format("    {} skipped before and tried again (their files changed, or --retry-skipped)\n",
                       s.cases_retried);
  for (const auto& [c, why] : s.skipped) out += fmt::format("    skipped {}: {}\n", c, why);
  out += fmt::format("  samples (slices): {}, objects (slice, label) pairs: {}\n", s.samples, s.objects);
  for (const auto& [k, n] : s.samples_by_split)
    out += fmt::format("    {}: {} samples, {} objects\n", k, n, s.objects_by_split.at(k));
  if (s.slices_dropped_by_gap) out += fmt::format("    {} slices dropped as split gaps\n", s.slices_dropped_by_gap);
  for (const auto& [k, n] : s.objects_by_modality) out += fmt::format("  modality {}: {} objects\n", k, n);
  out += fmt::format("  labels with objects: {}\n", s.objects_by_label.size());
  for (const auto& [k, n] : s.objects_by_label) out += fmt::format("    {}: {}\n", k, n);
  out += fmt::format("  shards: {}, tar bytes: {} ({:.1f} KB/sample), index bytes: {} ({:.1f} B/sample)\n", s.shards,
                     s.tar_bytes, s.samples ? s.tar_bytes / 1024.0 / s.samples : 0.0, s.index_bytes,
                     s.samples ? static_cast<double>(s.index_bytes) / s.samples : 0.0);
  out += fmt::format("  time: {:.1f} s\n", s.seconds);
  return out;
}

}  // namespace medsam::prep
