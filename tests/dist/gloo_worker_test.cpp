// The rank side of gloo_test.cpp: a hidden test case that gloo_test.cpp starts N times through the
// launcher (with the torchrun variables set). MEDSAM_DIST_SCENARIO picks what it does. Running it by hand
// without those variables fails at once.
#include <catch2/catch.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "medsam/core/error.h"
#include "medsam/dist/gradient_reducer.h"
#include "medsam/dist/module_sync.h"
#include "medsam/dist/process_group.h"
#include "medsam/train/synthetic_source.h"
#include "medsam/train/train_job.h"
#include "medsam/train/trainer.h"
#include "tests/support/run_command.h"
#include "tests/support/tiny_sam.h"

using namespace medsam::dist;
using Clock = std::chrono::steady_clock;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

std::shared_ptr<ProcessGroup> join() {
  torch::set_num_threads(1);
  const auto rendezvous = resolve_rendezvous(process_env());
  REQUIRE(rendezvous.distributed());
  GroupOptions options;
  options.backend = "gloo";
  options.timeout = std::chrono::milliseconds(std::stoi(env_or("MEDSAM_DIST_TEST_TIMEOUT_MS", "20000")));
  auto group = ProcessGroup::create(rendezvous, options);
  fmt::print("joined: {}\n", rendezvous.describe());
  return group;
}

// Parameters and a buffer that depend on the seed.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(5, 16));
    fc2 = register_module("fc2", torch::nn::Linear(16, 3));
    unused = register_module("unused", torch::nn::Linear(4, 4));  // never in forward: no gradient anywhere
    frozen = register_parameter("frozen", torch::randn({3}), /*requires_grad=*/false);
    scale = register_buffer("scale", torch::rand({3}) + 0.5);
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))) * scale + frozen; }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, unused{nullptr};
  torch::Tensor frozen, scale;
};
TORCH_MODULE(Net);

void collectives(ProcessGroup& g) {
  const int r = g.rank(), n = g.size();
  const auto one_to_four = torch::arange(1, 5, torch::kFloat);
  // sum over ranks of (r + 1) * [1, 2, 3, 4] = n(n+1)/2 * [1, 2, 3, 4]
  auto t = one_to_four * (r + 1);
  g.all_reduce(t);
  CHECK(torch::equal(t, one_to_four * (n * (n + 1) / 2)));
  auto m = torch::tensor({static_cast<float>(r), static_cast<float>(-r)});
  g.all_reduce(m, ReduceOp::kMax);
  CHECK(torch::equal(m, torch::tensor({static_cast<float>(n - 1), 0.f})));
  auto i = torch::full({3}, r + 1, torch::kLong);
  g.all_reduce(i);
  CHECK(torch::equal(i, torch::full({3}, n * (n + 1) / 2, torch::kLong)));
  // two in flight at once, waited in order
  auto a = torch::ones({1000}), b = torch::full({7}, 2.0);
  auto pa = g.all_reduce_async(a);
  auto pb = g.all_reduce_async(b);
  pa.wait();
  pb.wait();
  CHECK(torch::equal(a, torch::full({1000}, static_cast<float>(n))));
  CHECK(torch::equal(b, torch::full({7}, 2.0f * n)));
  CHECK(g.all_reduce_scalars({1.0, static_cast<double>(r)}) == std::vector<double>{double(n), n * (n - 1) / 2.0});
  CHECK(g.all_reduce_scalar(r, ReduceOp::kMin) == 0.0);

  // broadcast: each rank starts from its own seed; afterwards all hold rank 0's weights and buffers
  torch::manual_seed(100 + r);
  Net net;
  torch::manual_seed(100);
  Net rank0;
  if (r != 0) CHECK_FALSE(torch::equal(net->fc1->weight, rank0->fc1->weight));
  broadcast_module_state(g, *net);
  const auto got = net->named_parameters(), want = rank0->named_parameters();
  for (const auto& item : want) CHECK(torch::equal(got[item.key()], item.value()));
  CHECK(torch::equal(net->scale, rank0->scale));
  g.barrier();
}

void zero_grads(torch::nn::Module& m) {
  for (auto& p : m.parameters()) p.mutable_grad() = torch::Tensor();
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Full batch of 12 (divisible by 2 and 3), MSE mean: the mean of the shard means is the full mean, so the
// averaged shard gradients must equal the single-process gradient of the full batch.
void reducer(const std::shared_ptr<ProcessGroup>& g) {
  const int r = g->rank(), n = g->size();
  torch::manual_seed(1234);
  const auto x = torch::randn({12, 5}), y = torch::randn({12, 3});
  const auto xs = x.chunk(n)[r], ys = y.chunk(n)[r];
  torch::manual_seed(7 + r);  // different on purpose: the broadcast must fix it
  Net model;
  torch::manual_seed(7);
  Net reference;  // rank 0's initial weights, trained on the full batch in one process
  broadcast_module_state(*g, *model);

  ReducerOptions options;
  options.first_bucket_bytes = 64;  // several buckets for these ~700 B of gradients
  options.bucket_bytes = 256;
  auto reduce = make_gradient_reducer(g, model->parameters(), options);

  auto check_grads = [&](const char* what) {
    INFO(what);
    const auto got = model->named_parameters(), want = reference->named_parameters();
    for (const auto& item : want) {
      INFO(item.key());
      const auto& mine = got[item.key()].grad();
      if (!item.value().grad().defined()) {
        CHECK_FALSE(mine.defined());  // unused and frozen parameters: no gradient, as in one process
        continue;
      }
      REQUIRE(mine.defined());
      CHECK(max_diff(mine, item.value().grad()) < 1e-6);
    }
  };

  // 1. one synced backward
  torch::mse_loss(reference(x), y).backward();
  torch::mse_loss(model(xs), ys).backward();
  reduce->finalize();
  check_grads("one backward");
  {  // The averaged buckets are the gradients (views, no copy back): some gradients share a storage.
    const auto ps = model->parameters();
    int shared = 0;
    for (size_t i = 0; i < ps.size(); ++i)
      for (size_t j = i + 1; j < ps.size(); ++j)
        if (ps[i].grad().defined() && ps[j].grad().defined() && ps[i].grad().is_alias_of(ps[j].grad())) ++shared;
    CHECK(shared > 0);
  }
  // In registration order the unused layer (registered last) fills bucket 0, which holds back every
  // bucket until finalize(); after this first pass the buckets follow the observed gradient order.
  CHECK(reduce->stats().sent_during_backward == 0);
  CHECK(reduce->stats().rebuilt);

  // 2. the same gradient from two accumulation micro-steps, only the second one synced, into prepared
  // gradients: every .grad a zeroed view of a bucket, which backward adds into (no gradient of its own)
  zero_grads(*model);
  reduce->prepare_gradients();
  std::map<std::string, const void*> prepared;
  for (const auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    REQUIRE(item.value().grad().defined());
    CHECK(item.value().grad().abs().max().item<double>() == 0.0);
    prepared[item.key()] = item.value().grad().data_ptr();
  }
  const auto xm = xs.chunk(2), ym = ys.chunk(2);
  {
    NoSyncScope no_sync(*reduce);
    (torch::mse_loss(model(xm[0]), ym[0]) / 2).backward();
    reduce->finalize();  // no-op while not syncing
  }
  (torch::mse_loss(model(xm[1]), ym[1]) / 2).backward();
  reduce->finalize();
  check_grads("two accumulation micro-steps");  // also: the unused layer's prepared slot is undefined again
  for (const auto& item : model->named_parameters()) {
    if (!item.value().grad().defined()) continue;
    INFO(item.key());
    CHECK(item.value().grad().data_ptr() == prepared.at(item.key()));  // added in place, never replaced
  }

  // 3. K = 5 SGD steps: 1 rank x batch 12 and n ranks x batch 12/n end with the same parameters
  torch::optim::SGD opt_model(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  torch::optim::SGD opt_ref(reference->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < 5; ++step) {
    zero_grads(*model);
    if (step % 2 == 0) reduce->prepare_gradients();  // both ways give the same gradients
    zero_grads(*reference);
    torch::mse_loss(reference(x), y).backward();
    torch::mse_loss(model(xs), ys).backward();
    reduce->finalize();
    opt_ref.step();
    opt_model.step();
  }
  // Rebuilt: every bucket but the one with the unused layer went out while backward was running.
  CHECK(reduce->stats().buckets >= 2);
  CHECK(reduce->stats().sent_during_backward + 1 == reduce->stats().buckets);
  const auto got = model->named_parameters(), want = reference->named_parameters();
  for (const auto& item : want) {
    INFO(item.key());
    const double scale = std::max(1.0, item.value().abs().max().item<double>());
    CHECK(max_diff(got[item.key()], item.value()) <= 1e-5 * scale);
    // every rank holds the same values: max over ranks == min over ranks == mine
    auto hi = got[item.key()].detach().clone(), lo = hi.clone();
    g->all_reduce(hi, ReduceOp::kMax);
    g->all_reduce(lo, ReduceOp::kMin);
    CHECK(torch::equal(hi, lo));
  }
  fmt::print("rank {}: reducer matches the single-process gradients\n", r);
}

// Ranks other than the last loop on all-reduce; the last leaves (die) or stops answering (hang).
[[noreturn]] void lose_a_rank(const std::shared_ptr<ProcessGroup>& g, bool die) {
  g->barrier();
  if (g->rank() == g->size() - 1) {
    std::fflush(stdout);
    if (die) ::_exit(3);
    std::this_thread::sleep_for(std::chrono::seconds(60));
    ::_exit(0);
  }
  const auto start = Clock::now();
  try {
    for (int i = 0; i < 100000; ++i) {
      auto t = torch::ones({1000});
      g->all_reduce(t);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    fmt::print("all-reduce kept succeeding\n");
    std::fflush(stdout);
    ::_exit(1);
  } catch (const medsam::Error& e) {
    const double failed_after = std::chrono::duration<double>(Clock::now() - start).count();
    fmt::print("rank {}: collective failed after {:.2f} s: {}\n", g->rank(), failed_after, e.what());
    const auto before = Clock::now();
    g->shutdown();
    fmt::print("rank {}: shutdown took {:.2f} s\n", g->rank(),
               std::chrono::duration<double>(Clock::now() - before).count());
    std::fflush(stdout);
    std::exit(7);  // the exit path of `medsam train` after a failure: static destructors included
  }
}

void bench(ProcessGroup& g) {
  for (const int64_t mb : {1, 25, 375}) {
    auto t = torch::ones({mb * (1 << 20) / 4});
    g.all_reduce(t);  // warm-up
    const int reps = mb >= 375 ? 3 : 10;
    g.barrier();
    const auto start = Clock::now();
    for (int k = 0; k < reps; ++k) g.all_reduce(t);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / reps;
    if (g.rank() == 0)
      fmt::print("gloo all-reduce {} MiB fp32 between {} processes: {:.1f} ms ({:.2f} GB/s algorithm bandwidth)\n",
                 mb, g.size(), ms, mb * 1.048576e-3 / (ms * 1e-3));
  }
}

// Rank 1 has one batch fewer than rank 0 (as when data.skip_corrupt drops a batch of corrupt samples):
// both ranks must end after the same step, not leave rank 0 in a gradient all-reduce until the timeout.
void uneven_data(const std::shared_ptr<ProcessGroup>& g) {
  using namespace medsam::train;
  const int r = g->rank();
  SyntheticSourceOptions o;
  o.image_size = 256;
  o.batch_size = 1;
  o.batches_per_epoch = r == 0 ? 3 : 2;
  o.rank = r;
  o.world_size = g->size();
  SyntheticSource source(o);
  medsam::TrainConfig c;
  c.output_dir = medsam::test::temp_dir(fmt::format("uneven_data_rank{}", r));
  c.device = "cpu";
  c.epochs = 1;
  c.checkpoint.every_steps = 0;
  c.logs.progress = "lines";
  c.logs.tensorboard = false;
  TrainerOptions options;
  options.rank = r;
  options.world_size = g->size();
  options.group = g;
  options.make_reducer = gradient_reducer_factory(g, 25);
  Trainer t(c, medsam::test::seeded_tiny_sam(), source, "", options);
  const TrainResult result = t.run();
  fmt::print("rank {}: trained {} steps\n", r, result.steps);
  CHECK(result.steps == 2);
}


// Rank 1 takes another job's name, as a rank of a second job on the same MASTER_PORT would have: it
// stops at once naming both jobs; rank 0 gives up when rank 1 never joins its group (the test timeout).
void foreign_rank() {
  torch::set_num_threads(1);
  const bool stranger = env_or("RANK", "") == "1";
  if (stranger) ::setenv("MEDSAM_RUN_ID", "another-job", 1);
  const auto rendezvous = resolve_rendezvous(process_env());
  GroupOptions options;
  options.backend = "gloo";
  options.timeout = std::chrono::milliseconds(std::stoi(env_or("MEDSAM_DIST_TEST_TIMEOUT_MS", "20000")));
  if (stranger) {
    CHECK_THROWS_WITH(ProcessGroup::create(rendezvous, options),
                      Catch::Contains("belongs to another job (run " + env_or("TEST_PARENT_RUN_ID", "?") +
                                      ", world size 2); this process is run another-job, world size 2") &&
                          Catch::Contains("MASTER_PORT"));
    fmt::print("rank 1: refused\n");
  } else {
    CHECK_THROWS(ProcessGroup::create(rendezvous, options));
    fmt::print("rank 0: gave up\n");
  }
}

}  // namespace

TEST_CASE("dist worker", "[.dist_worker]") {
  const std::string scenario = env_or("MEDSAM_DIST_SCENARIO", "");
  if (scenario == "foreign_rank") return foreign_rank();
  auto group = join();
  if (scenario == "collectives") {
    collectives(*group);
  } else if (scenario == "reducer") {
    reducer(group);
  } else if (scenario == "die" || scenario == "hang") {
    lose_a_rank(group, scenario == "die");
  } else if (scenario == "bench") {
    bench(*group);
  } else if (scenario == "uneven_data") {
    uneven_data(group);
  } else if (scenario == "different_start") {
    // As if rank 1 found no checkpoint in its (node-local) output folder: both ranks refuse to go on.
    const int64_t step = group->rank() == 0 ? 1200 : 0;
    CHECK_THROWS_WITH(medsam::train::check_ranks_start_together(*group, step),
                      Catch::Contains("the ranks start at different steps (from 0 to 1200"));
    medsam::train::check_ranks_start_together(*group, 7);  // agreeing ranks pass
    fmt::print("rank {}: refused\n", group->rank());
  } else {
    FAIL("unknown MEDSAM_DIST_SCENARIO '" << scenario << "'");
  }
  group->barrier();
  group->shutdown();
}
