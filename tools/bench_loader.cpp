// `medsam bench loader --data DIR --workers N`: samples/s of the real training loader (decode two
// PNGs, resize when the stored size differs, choose the object, jitter the box, optional augmentation
// and points, collate) on prepared shards, at each requested image size.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <sys/resource.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "medsam/core/error.h"
#include "medsam/data/dataset.h"
#include "medsam/data/loader.h"
#include "tools/bench.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace {

struct LoaderBenchOptions {
  std::string data;
  std::string split = "train";
  std::vector<int> workers{1};
  std::vector<int> sizes{256, 1024};
  int batch = 8;
  int samples = 400;
  int threads = 1;
  bool augment = false;
  bool points = false;
};

// CPU seconds (user, system) this process has used: the loader's cost independent of the wall clock,
// which other work on the machine stretches.
std::pair<double, double> process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return {sec(u.ru_utime), sec(u.ru_stime)};
}

int run_loader_bench(const LoaderBenchOptions& o) {
  // One intra-op thread per process by default: the workers are the parallelism being measured.
  torch::set_num_threads(o.threads);
  const auto t_open = std::chrono::steady_clock::now();
  const data::TrainingDataset dataset(o.data, o.split);
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_open).count();
  fmt::print("loader: {} split {}: {} samples, stored {}x{} (opened in {:.3f} s); intra-op threads {}\n", o.data,
             o.split, dataset.size(), dataset.manifest().image_size, dataset.manifest().image_size, open_s,
             torch::get_num_threads());
  for (int size : o.sizes) {
    for (int workers : o.workers) {
      data::DataConfig cfg;
      cfg.shards = o.data;
      cfg.split = o.split;
      cfg.image_size = size;
      cfg.num_workers = workers;
      cfg.batch_size = o.batch;
      cfg.prefetch = std::max(2, 2 * workers);
      cfg.prompts.points = o.points;
      cfg.prompts.negative_points = o.points ? 1 : 0;
      if (o.augment) {  // every kind on: the dearest configuration
        cfg.augment.enabled = true;
        cfg.augment.vflip = 0.5;
        cfg.augment.rot90 = true;
        cfg.augment.scale = 0.1;
        cfg.augment.translate = 0.05;
        cfg.augment.brightness = 0.1;
        cfg.augment.contrast = 0.1;
        cfg.augment.gamma = 0.1;
      }
      cfg.validate();
      data::SamplerOptions so;
      so.seed = 1;
      const data::DistributedSampler sampler(static_cast<std::int64_t>(dataset.size()), so);
      data::Loader loader(dataset, sampler, cfg);
      // Warm-up: one batch (page cache, allocator), not timed.
      loader.start(sampler.start_of(0));
      (void)loader.next();
      std::int64_t seen = 0;
      const auto cpu0 = process_cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t epoch = 1; seen < o.samples; ++epoch) {
        loader.start(sampler.start_of(epoch));
        while (seen < o.samples) {
          auto b = loader.next();
          if (!b) break;
          seen += b->num_images();
        }
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const auto cpu1 = process_cpu_seconds();
      loader.stop();
      const double rate = seen / s;
      // The workers run ahead by up to `prefetch` batches, so the CPU time covers slightly more
      // samples than were consumed: a small overestimate of the cost per sample.
      const double user_ms = 1e3 * (cpu1.first - cpu0.first) / static_cast<double>(seen);
      const double sys_ms = 1e3 * (cpu1.second - cpu0.second) / static_cast<double>(seen);
      fmt::print("loader S={} stored={} workers={} batch={} augment={} points={}: {:.1f} samples/s "
                 "({:.1f} per worker; {} samples in {:.2f} s); CPU {:.1f} ms/sample ({:.1f} user + {:.1f} system) "
                 "= {:.1f} samples per CPU-second\n",
                 size, dataset.manifest().image_size, workers, o.batch, o.augment ? "on" : "off",
                 o.points ? "on" : "off", rate, rate / std::max(1, workers), seen, s, user_ms + sys_ms, user_ms,
                 sys_ms, 1e3 / (user_ms + sys_ms));
    }
  }
  return 0;
}

RunFn add_loader_bench(CLI::App& sub) {
  auto o = std::make_shared<LoaderBenchOptions>();
  sub.add_option("--data", o->data, "prepared dataset folder (medsam prep --output)")->required();
  sub.add_option("--split", o->split, "train, val or test")->capture_default_str();
  sub.add_option("--workers", o->workers, "decoding threads (repeatable: one run per value)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--image-size", o->sizes, "model frame S (repeatable)")->capture_default_str();
  sub.add_option("--batch", o->batch, "images per batch")->capture_default_str()->check(at_least_one());
  sub.add_option("--samples", o->samples, "samples timed per run")->capture_default_str()->check(at_least_one());
  sub.add_option("--threads", o->threads, "LibTorch intra-op threads")->capture_default_str()->check(at_least_one());
  sub.add_flag("--augment", o->augment, "all augmentations on (flips, rot90, zoom, shift, intensity)");
  sub.add_flag("--points", o->points, "sample a positive and a negative point per object too");
  return [o] {
    if (o->workers.empty() || o->sizes.empty()) throw UsageError("bench loader: --workers and --image-size need values");
    return run_loader_bench(*o);
  };
}

}  // namespace

MEDSAM_BENCH_KIND("loader", "training loader: samples/s on prepared shards (decode, prompt, augment, collate)",
                  add_loader_bench);

}  // namespace medsam::tools
