// Bucketed, overlapped gradient all-reduce for world size > 1.
#include "medsam/dist/bucketed_reducer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <fmt/format.h>

#include <mutex>

#include "medsam/core/error.h"
#include "medsam/dist/process_group.h"

namespace medsam::dist::detail {

namespace {

struct Bucket {
  std::vector<std::size_t> params;     // indices into the reducer's parameter list
  std::vector<int64_t> offsets;        // element offset of each parameter in `flat`
  at::Tensor flat;                     // the all-reduced buffer
  std::size_t pending = 0;             // parameters whose gradient has not arrived in this pass
  bool launched = false;
  PendingOp op;
};

// ref: torch/csrc/distributed/c10d/reducer.cpp Reducer (autograd_hook, mark_variable_ready,
// finalize_backward, rebuild_buckets), reduced to what a DDP trainer needs: dense gradients, one device,
// no comm hooks. flashlight's CoalescingReducer has the same shape.
class BucketedReducer final : public GradientReducer {
 public:
  BucketedReducer(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, const ReducerOptions& options)
      : group_(std::move(group)),
        params_(std::move(params)),
        options_(options),
        ready_(params_.size(), false),
        received_(params_.size(), false) {
    build_buckets(assign_buckets(params_, options));
    // ref: reducer.cpp Reducer::Reducer: a post hook on each parameter's AccumulateGrad node runs once the
    // gradient of this backward pass has been added into .grad. We keep the nodes alive (the tensor holds
    // them only weakly) so that the hooks stay registered.
    for (std::size_t i = 0; i < params_.size(); ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(params_[i]);
      if (!accumulator)
        throw Error(fmt::format("gradient reducer: parameter #{} (shape {}) is not a leaf that requires grad", i,
                                params_[i].sizes()));
      hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [this, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            on_gradient(i);
            return outputs;
          })));
      accumulators_.push_back(std::move(accumulator));
    }
  }

  ~BucketedReducer() override {
    for (std::size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
  }

  void set_sync(bool sync) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sync_ = sync;
  }
  bool sync() const override { return sync_; }

  void prepare_gradients() override {
    std::lock_guard<std::mutex> lock(mutex_);
    at::NoGradGuard no_grad;
    for (auto& bucket : buckets_) bucket.flat.zero_();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      at::Tensor& p = params_[i];
      // A gradient someone left defined is kept (and copied in as before); non-contiguous parameters too.
      if (p.grad().defined() || !p.is_contiguous()) continue;
      p.mutable_grad() = slot(locate_[i].first, locate_[i].second);
    }
  }

  void finalize() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!sync_ || params_.empty()) return;
    at::NoGradGuard no_grad;
    struct Reset {
      BucketedReducer* self;
      ~Reset() { self->reset(); }
    } reset_at_exit{this};

    // Buckets still open hold parameters that got no gradient in this pass (unused heads): they send what
    // .grad holds (earlier accumulation steps) or zeros. Every rank sends every bucket, in index order.
    for (; next_ < buckets_.size(); ++next_) {
      Bucket& bucket = buckets_[next_];
      for (std::size_t s = 0; s < bucket.params.size(); ++s) {
        const std::size_t i = bucket.params[s];
        if (ready_[i]) continue;
        const auto& grad = params_[i].grad();
        if (!grad.defined()) {
          slot(next_, s).zero_();
        } else if (!in_bucket(i)) {
          slot(next_, s).copy_(grad);
        }  // else: .grad is the slot (prepare_gradients), holding what earlier micro-steps added
      }
      launch(next_);
    }
    // Which parameters have a gradient anywhere: one that has none on every rank keeps an undefined .grad
    // (the optimizer then skips it, as it would in a single process).
    std::vector<float> has_grad(params_.size());
    // A prepared slot counts only once backward has added to it (received_, also in no-sync micro-steps).
    for (std::size_t i = 0; i < params_.size(); ++i)
      has_grad[i] = received_[i] || (params_[i].grad().defined() && !in_bucket(i)) ? 1.f : 0.f;
    at::Tensor used = at::tensor(has_grad).to(group_->device());
    PendingOp used_op = group_->all_reduce_async(used);

    for (auto& bucket : buckets_) bucket.op.wait();
    used_op.wait();
    used = used.cpu();
    const float* any = used.data_ptr<float>();
    // ref: reducer.cpp gradient_as_bucket_view: the averaged bucket is the gradient. One division per
    // bucket, then each .grad becomes its slot (a view: no copy back, no second copy of every gradient
    // held). A parameter that is not contiguous keeps its own layout and gets a copy.
    const double world = static_cast<double>(group_->size());
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      const Bucket& bucket = buckets_[b];
      bucket.flat.div_(world);
      for (std::size_t s = 0; s < bucket.params.size(); ++s) {
        at::Tensor& p = params_[bucket.params[s]];
        if (any[bucket.params[s]] == 0.f) {
          if (in_bucket(bucket.params[s])) p.mutable_grad().reset();  // a prepared slot nobody added to
          continue;
        }
        if (p.is_contiguous()) {
          p.mutable_grad() = slot(b, s);
        } else {
          if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p, at::MemoryFormat::Preserve);
          p.mutable_grad().copy_(slot(b, s));
        }
      }
    }
    stats_.buckets = buckets_.size();
    stats_.sent_during_backward = sent_during_backward_;
    if (!stats_.rebuilt) rebuild_from_observed_order();
  }

  ReducerStats stats() const override { return stats_; }

 private:
  void build_buckets(const std::vector<std::vector<std::size_t>>& assignment) {
    buckets_.clear();
    locate_.assign(params_.size(), {0, 0});
    for (const auto& indices : assignment) {
      Bucket bucket;
      int64_t total = 0;
      for (std::size_t i : indices) {
        locate_[i] = {buckets_.size(), bucket.params.size()};
        bucket.params.push_back(i);
        bucket.offsets.push_back(total);
        total += params_[i].numel();
      }
      bucket.flat = at::zeros({total}, params_[indices.front()].options().requires_grad(false));
      bucket.pending = indices.size();
      buckets_.push_back(std::move(bucket));
    }
  }

  // ref: reducer.cpp Reducer::rebuild_buckets + distributed.py _sync_bucket_indices: after the first
  // synced pass, buckets follow the order in which gradients actually arrived (rank 0's order, broadcast
  // so that every rank builds the same buckets). Parameters that got no gradient go last: in the
  // registration-order assignment SAM's unused IoU head sits in bucket 0, and since buckets go out in
  // order it would hold every bucket back until finalize().
  void rebuild_from_observed_order() {
    std::vector<bool> seen(params_.size(), false);
    std::vector<int64_t> order;
    for (std::size_t i : observed_order_) {
      order.push_back(static_cast<int64_t>(i));
      seen[i] = true;
    }
    for (std::size_t k = params_.size(); k-- > 0;)
      if (!seen[k]) order.push_back(static_cast<int64_t>(k));
    at::Tensor shared = at::tensor(order, at::TensorOptions().dtype(at::kLong)).to(group_->device());
    group_->broadcast(shared, 0);
    shared = shared.cpu();
    std::vector<std::size_t> walk(params_.size());
    for (std::size_t k = 0; k < walk.size(); ++k) walk[k] = static_cast<std::size_t>(shared.data_ptr<int64_t>()[k]);
    build_buckets(assign_buckets(params_, walk, options_));
    stats_.rebuilt = true;
    observed_order_.clear();
  }

  // Whether parameter i's .grad is (a view of) its bucket: prepare_gradients() put it there.
  bool in_bucket(std::size_t i) const {
    const auto& grad = params_[i].grad();
    return grad.defined() && grad.is_alias_of(buckets_[locate_[i].first].flat);
  }

  at::Tensor slot(std::size_t b, std::size_t s) const {
    const Bucket& bucket = buckets_[b];
    const auto& p = params_[bucket.params[s]];
    return bucket.flat.narrow(0, bucket.offsets[s], p.numel()).view(p.sizes());
  }

  // ref: reducer.cpp Reducer::autograd_hook / mark_variable_ready
  void on_gradient(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    received_[i] = true;
    if (!sync_) return;  // accumulation micro-step: the gradient stays local
    const auto [b, s] = locate_[i];
    Bucket& bucket = buckets_[b];
    const auto& grad = params_[i].grad();
    if (!grad.defined()) return;
    if (grad.is_sparse())
      throw Error(fmt::format("gradient reducer: parameter #{} has a sparse gradient (not supported)", i));
    if (bucket.launched)
      throw Error(fmt::format(
          "gradient reducer: parameter #{} (shape {}) received a gradient after its bucket was sent: call "
          "finalize() after each synced backward, or run extra backward passes inside a NoSyncScope",
          i, params_[i].sizes()));
    if (!in_bucket(i)) {  // a prepared .grad already is the slot: backward added into the bucket
      at::NoGradGuard no_grad;
      slot(b, s).copy_(grad);
    }
    if (ready_[i]) return;  // a second gradient for the same parameter in this pass: copied again above
    ready_[i] = true;
    if (!stats_.rebuilt) observed_order_.push_back(i);
    if (--bucket.pending == 0) {
      const std::size_t before = next_;
      launch_ready_in_order();
      sent_during_backward_ += next_ - before;
    }
  }

  // Buckets go out strictly in index order, so every rank issues the same collectives in the same order
  // even when gradients arrive in a different order (ref: reducer.cpp Reducer::mark_bucket_ready).
  void launch_ready_in_order() {
    while (next_ < buckets_.size() && buckets_[next_].pending == 0) launch(next_++);
  }

  void launch(std::size_t b) {
    buckets_[b].op = group_->all_reduce_async(buckets_[b].flat);
    buckets_[b].launched = true;
  }

  void reset() {
    for (auto& bucket : buckets_) {
      bucket.pending = bucket.params.size();
      bucket.launched = false;
      bucket.op = PendingOp();
    }
    std::fill(ready_.begin(), ready_.end(), false);
    std::fill(received_.begin(), received_.end(), false);
    next_ = 0;
    sent_during_backward_ = 0;
  }

  std::shared_ptr<ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  ReducerOptions options_;
  std::vector<bool> ready_;
  std::vector<bool> received_;  // got a gradient since the last finalize (no-sync micro-steps included)
  std::vector<std::size_t> observed_order_;  // first synced pass: the order gradients arrived in
  std::size_t sent_during_backward_ = 0;
  ReducerStats stats_;
  std::vector<std::pair<std::size_t, std::size_t>> locate_;  // parameter -> (bucket, slot)
  std::vector<Bucket> buckets_;
  std::size_t next_ = 0;  // first bucket not yet sent
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<std::uintptr_t> hook_keys_;
  bool sync_ = true;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<GradientReducer> make_bucketed_reducer(std::shared_ptr<ProcessGroup> group,
                                                       std::vector<at::Tensor> parameters,
                                                       const ReducerOptions& options) {
  return std::make_unique<BucketedReducer>(std::move(group), std::move(parameters), options);
}

}  // namespace medsam::dist::detail
