// Data-parallel gradient synchronisation, flashlight's Reducer shape: a reducer is attached to a model's
// parameters, sees their gradients as backward produces them, and finalize() (after backward, before the
// optimizer step) leaves every parameter's .grad equal to the mean over ranks. The trainer does not know
// which reducer it holds:
//
//   auto reducer = dist::make_gradient_reducer(group, model->parameters());
//   optimizer.zero_grad(); reducer->prepare_gradients();                     // .grad = bucket views
//   { dist::NoSyncScope no_sync(*reducer); loss(micro_batch_1).backward(); }  // accumulation step
//   loss(micro_batch_2).backward();                                          // buckets go out as they fill
//   reducer->finalize();                                                     // wait, unflatten, average
//   optimizer.step();
#pragma once

#include <ATen/Tensor.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace medsam::dist {

class ProcessGroup;

struct ReducerOptions {
  // Gradients are copied into flat buckets of about this many bytes; a full bucket is all-reduced while
  // backward goes on (ref: torch/nn/parallel/distributed.py bucket_cap_mb = 25).
  std::size_t bucket_bytes = 25u << 20;
  // The first bucket to fill (the last layers' gradients) is small, so communication starts early
  // (ref: torch/distributed/constants.py _DEFAULT_FIRST_BUCKET_BYTES = 1 MiB).
  std::size_t first_bucket_bytes = 1u << 20;
};

// What the last synced finalize() saw (for logs and tests).
struct ReducerStats {
  std::size_t buckets = 0;
  std::size_t sent_during_backward = 0;  // the rest were sent by finalize()
  bool rebuilt = false;                  // buckets reordered by the observed gradient order
};

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // false: backward passes only accumulate local gradients (accumulation micro-steps); the next synced
  // backward reduces the accumulated sum.
  virtual void set_sync(bool sync) = 0;
  virtual bool sync() const = 0;
  // Waits for every bucket, writes the mean over ranks into each .grad. A parameter that received no
  // gradient on this rank contributes zeros; one that received none on any rank keeps an undefined .grad,
  // exactly as in a single process. No-op when sync is off.
  virtual void finalize() = 0;
  // After the optimizer cleared the gradients (set to none), before the step's first backward: the
  // bucketed reducer points each .grad at its zeroed slot of a bucket, so that backward adds straight into
  // the buffer that is all-reduced instead of into a gradient of its own that is then copied (ref:
  // torch/nn/parallel/distributed.py gradient_as_bucket_view; saves one copy of every gradient, ~375 MB
  // for ViT-B). A parameter that then gets no gradient on any rank has an undefined .grad after
  // finalize(), as without this call. The inline reducer does nothing.
  virtual void prepare_gradients() {}
  virtual ReducerStats stats() const { return {}; }
};

// RAII: no synchronisation inside the scope (ref: torch/nn/parallel/distributed.py no_sync).
class NoSyncScope {
 public:
  explicit NoSyncScope(GradientReducer& reducer) : reducer_(reducer), was_(reducer.sync()) { reducer_.set_sync(false); }
  ~NoSyncScope() { reducer_.set_sync(was_); }
  NoSyncScope(const NoSyncScope&) = delete;
  NoSyncScope& operator=(const NoSyncScope&) = delete;

 private:
  GradientReducer& reducer_;
  bool was_;
};

// World size 1: finalize() does nothing.
std::unique_ptr<GradientReducer> make_inline_reducer();

// Parameters that do not require grad (a frozen prompt encoder) are left out. For a group of one this is
// the inline reducer, else the bucketed one.
std::unique_ptr<GradientReducer> make_gradient_reducer(std::shared_ptr<ProcessGroup> group,
                                                       const std::vector<at::Tensor>& parameters,
                                                       const ReducerOptions& options = {});

// What the trainer calls once it knows its trainable parameters (TrainerOptions::make_reducer):
// make_gradient_reducer over `group` with buckets of about `bucket_mb` MiB.
using ReducerFactory = std::function<std::shared_ptr<GradientReducer>(const std::vector<at::Tensor>&)>;
ReducerFactory gradient_reducer_factory(std::shared_ptr<ProcessGroup> group, double bucket_mb);

// Bucket assignment for parameters walked in `order` (indices into `parameters`), exposed for tests.
std::vector<std::vector<std::size_t>> assign_buckets(const std::vector<at::Tensor>& parameters,
                                                     const std::vector<std::size_t>& order,
                                                     const ReducerOptions& options);

// The initial assignment: indices into `parameters`, walked from the last parameter to the
// first (backward produces gradients roughly in that order), one open bucket per (dtype, device), closed
// when it reaches its size limit (first_bucket_bytes for the first bucket of each (dtype, device),
// bucket_bytes after). Buckets are ordered by the position of their first parameter in that walk.
std::vector<std::vector<std::size_t>> assign_buckets(const std::vector<at::Tensor>& parameters,
                                                     const ReducerOptions& options);

}  // namespace medsam::dist
