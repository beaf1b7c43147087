// `medsam bench allreduce`: time of one all-reduce of a gradient-sized fp32 buffer (vit_b's trainable
// gradients are ~375 MB) over a c10d process group, as the trainer's reducer issues it. Under
// `medsam launch`/torchrun/srun it joins the launcher's world; alone it is a world of one that still
// creates the backend (NCCL on one GPU: the library and kernel cost without the network).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "medsam/core/device.h"
#include "medsam/core/error.h"
#include "medsam/dist/process_group.h"
#include "tools/bench.h"
#include "tools/cli_checks.h"

namespace medsam::tools {
namespace {

struct AllreduceBenchOptions {
  std::string backend = "gloo";
  double mib = 375;
  int iters = 5;
  int warmup = 1;
  int buckets = 1;
  double timeout_s = 300;
};

int run_allreduce(const AllreduceBenchOptions& o) {
  auto group = bench::join_group(o.backend, std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  const c10::Device device = group->device();
  // The buffer split into --buckets equal parts, all in flight at once, as the bucketed reducer does.
  const int64_t total = static_cast<int64_t>(o.mib * (1 << 20) / sizeof(float));
  const int64_t per = (total + o.buckets - 1) / o.buckets;
  std::vector<at::Tensor> buckets;
  for (int i = 0; i < o.buckets; ++i) buckets.push_back(torch::ones({per}, torch::TensorOptions().device(device)));
  group->barrier();
  const auto [mean, best] = bench::time_runs(o.warmup, o.iters, [&] {
    std::vector<dist::PendingOp> ops;
    for (auto& b : buckets) ops.push_back(group->all_reduce_async(b));
    for (auto& op : ops) op.wait();
    synchronize(device);
  });
  // Every rank summed ones from every rank once per run: a wrong result means a broken collective.
  const double expected = std::pow(static_cast<double>(group->size()), o.warmup + o.iters);
  const double got = buckets.front()[0].item<double>();
  group->barrier();
  const int rank = group->rank(), size = group->size();
  const std::string backend = group->backend_name();
  group->shutdown();
  if (got != expected)
    throw Error(fmt::format("all-reduce gave {} where {} was expected (rank {} of {})", got, expected, rank, size));
  if (rank != 0) return 0;
  const double bytes = static_cast<double>(per) * o.buckets * sizeof(float);
  // Bus bandwidth as nccl-tests define it: a ring all-reduce moves 2(n-1)/n of the buffer per rank.
  const double bus = size > 1 ? bytes / mean * 2.0 * (size - 1) / size : 0.0;
  fmt::print("allreduce {} world={} device={} {:.1f} MiB in {} bucket(s): mean {:.2f} ms, min {:.2f} ms ({} iters, "
             "{} warmup); algorithm bandwidth {:.2f} GB/s, bus bandwidth {:.2f} GB/s\n",
             backend, size, device.str(), bytes / (1 << 20), o.buckets, mean * 1e3, best * 1e3, o.iters, o.warmup,
             bytes / mean / 1e9, bus / 1e9);
  return 0;
}

RunFn add_allreduce_bench(CLI::App& sub) {
  auto o = std::make_shared<AllreduceBenchOptions>();
  sub.add_option("--backend", o->backend, "gloo or nccl")->capture_default_str()->check(CLI::IsMember({"gloo", "nccl"}));
  sub.add_option("--mib", o->mib, "buffer size in MiB (vit_b gradients: 375)")->capture_default_str()->check(
      positive_number());
  sub.add_option("--buckets", o->buckets, "split into this many all-reduces in flight together")
      ->capture_default_str()
      ->check(at_least_one());
  sub.add_option("--iters", o->iters, "timed repetitions")->capture_default_str()->check(at_least_one());
  sub.add_option("--warmup", o->warmup, "untimed repetitions first")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  sub.add_option("--timeout", o->timeout_s, "seconds before a missing rank fails the run")->capture_default_str();
  return [o] { return run_allreduce(*o); };
}

}  // namespace

MEDSAM_BENCH_KIND("allreduce", "all-reduce of a gradient-sized buffer over gloo or nccl: ms and GB/s",
                  add_allreduce_bench);

}  // namespace medsam::tools
