#include "medsam/dist/gradient_reducer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <utility>

#include "medsam/dist/bucketed_reducer.h"
#include "medsam/dist/process_group.h"

namespace medsam::dist {

namespace {

// ref: flashlight/fl/distributed/reducers/InlineReducer.cpp (here: nothing to reduce in a world of one)
class InlineReducer final : public GradientReducer {
 public:
  void set_sync(bool sync) override { sync_ = sync; }
  bool sync() const override { return sync_; }
  void finalize() override {}

 private:
  bool sync_ = true;
};

}  // namespace

std::unique_ptr<GradientReducer> make_inline_reducer() { return std::make_unique<InlineReducer>(); }

std::unique_ptr<GradientReducer> make_gradient_reducer(std::shared_ptr<ProcessGroup> group,
                                                       const std::vector<at::Tensor>& parameters,
                                                       const ReducerOptions& options) {
  // A world of one reduces nothing, unless it was given a backend on purpose (GroupOptions::
  // backend_for_single: a one-GPU NCCL smoke test or benchmark), which then runs the real collectives.
  if (!group || (group->size() == 1 && group->backend_name() == "none")) return make_inline_reducer();
  std::vector<at::Tensor> trainable;
  for (const auto& p : parameters)
    if (p.requires_grad()) trainable.push_back(p);
  return detail::make_bucketed_reducer(std::move(group), std::move(trainable), options);
}

ReducerFactory gradient_reducer_factory(std::shared_ptr<ProcessGroup> group, double bucket_mb) {
  ReducerOptions options;
  options.bucket_bytes = static_cast<std::size_t>(bucket_mb * (1 << 20));
  return [group = std::move(group), options](const std::vector<at::Tensor>& parameters) {
    return std::shared_ptr<GradientReducer>(make_gradient_reducer(group, parameters, options));
  };
}

// ref: torch/csrc/distributed/c10d/reducer.cpp compute_bucket_assignment_by_size. Same limits and the
// same one-open-bucket-per-(dtype, device) rule; DDP walks parameters forwards and reverses the bucket
// list afterwards, we walk in the expected gradient order so that bucket 0 (first_bucket_bytes) fills first.
std::vector<std::vector<std::size_t>> assign_buckets(const std::vector<at::Tensor>& parameters,
                                                     const std::vector<std::size_t>& order,
                                                     const ReducerOptions& options) {
  struct Open {
    std::vector<std::size_t> indices;
    std::size_t bytes = 0;
    bool first = true;  // the next bucket closed for this key is its first
  };
  std::map<std::pair<int, std::string>, Open> open;
  std::vector<std::vector<std::size_t>> done;
  std::vector<std::size_t> position(parameters.size());
  for (std::size_t pos = 0; pos < order.size(); ++pos) {
    const std::size_t k = order[pos];
    position[k] = pos;
    const auto& p = parameters[k];
    auto& bucket = open[{static_cast<int>(p.scalar_type()), p.device().str()}];
    bucket.indices.push_back(k);
    bucket.bytes += static_cast<std::size_t>(p.numel()) * p.element_size();
    const std::size_t limit = bucket.first ? options.first_bucket_bytes : options.bucket_bytes;
    if (bucket.bytes >= limit) {
      done.push_back(std::move(bucket.indices));
      bucket.indices.clear();
      bucket.bytes = 0;
      bucket.first = false;
    }
  }
  for (auto& [key, bucket] : open)
    if (!bucket.indices.empty()) done.push_back(std::move(bucket.indices));
  // Order by the walk position of each bucket's first parameter.
  std::stable_sort(done.begin(), done.end(),
                   [&](const auto& a, const auto& b) { return position[a.front()] < position[b.front()]; });
  return done;
}

std::vector<std::vector<std::size_t>> assign_buckets(const std::vector<at::Tensor>& parameters,
                                                     const ReducerOptions& options) {
  std::vector<std::size_t> order(parameters.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = order.size() - 1 - k;
  return assign_buckets(parameters, order, options);
}

}  // namespace medsam::dist
