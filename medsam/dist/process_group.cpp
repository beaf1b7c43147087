#include "medsam/dist/process_group.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "medsam/core/error.h"
#include "medsam/core/log.h"
#include "medsam/dist/c10d_internal.h"

namespace medsam::dist {

struct ProcessGroup::Impl {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::string backend_name = "none";
  c10::Device device = c10::Device(c10::kCPU);
  std::chrono::milliseconds timeout{0};
  detail::StorePtr store;
  detail::BackendPtr backend;
};

struct PendingOp::State {
  c10::intrusive_ptr<compat::CommWork> work;
  at::Tensor tensor;  // kept alive until the collective is done
  std::string what;   // "all-reduce", "broadcast", "barrier"
  int rank = 0;
  int size = 1;
  std::string backend;
  std::chrono::milliseconds timeout{0};
};

namespace {

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return c10d::ReduceOp::SUM;
    case ReduceOp::kMax: return c10d::ReduceOp::MAX;
    case ReduceOp::kMin: return c10d::ReduceOp::MIN;
  }
  return c10d::ReduceOp::SUM;
}

[[noreturn]] void fail(const PendingOp::State& s, const std::exception& e) {
  throw Error(fmt::format(
      "{} on rank {} of {} ({}) failed: {} (another rank has probably exited or stopped responding; the "
      "timeout is {:g} s; the launcher's message or that rank's log names it)",
      s.what, s.rank, s.size, s.backend, detail::short_message(e),
      std::chrono::duration<double>(s.timeout).count()));
}

}  // namespace

void PendingOp::wait() {
  if (!state_ || !state_->work) return;
  try {
    state_->work->wait();
  } catch (const std::exception& e) {
    fail(*state_, e);
  }
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() { shutdown(); }

std::shared_ptr<ProcessGroup> ProcessGroup::single() {
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::make_unique<Impl>()));
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const Rendezvous& r, const GroupOptions& options) {
  if (!r.distributed() && !options.backend_for_single && !r.agent_store) return single();
  auto impl = std::make_unique<Impl>();
  impl->rank = r.rank;
  impl->size = r.world_size;
  impl->local_rank = r.local_rank;
  impl->timeout = options.timeout;
  std::string backend = options.backend;
  if (backend == "auto") backend = detail::nccl_available() ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw UsageError(fmt::format("unknown distributed backend '{}' (auto, gloo or nccl)", options.backend));
  log_debug("dist: {} ({}), creating the store", r.describe(), backend);
  impl->store = detail::create_store(r, options.timeout);
  detail::check_same_job(*impl->store, r);
  try {
    if (backend == "nccl") {
      impl->backend = detail::create_nccl_backend(impl->store, r, options.timeout, &impl->device);
    } else {
      impl->backend = detail::create_gloo_backend(impl->store, r.rank, r.world_size, options.timeout);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: creating the {} process group failed: {}", r.rank, r.world_size, backend,
                            detail::short_message(e)));
  }
  impl->backend_name = backend;
  log_debug("dist: rank {} joined the {} group of {}", r.rank, backend, r.world_size);
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int ProcessGroup::rank() const { return impl_->rank; }
int ProcessGroup::size() const { return impl_->size; }
int ProcessGroup::local_rank() const { return impl_->local_rank; }
std::string ProcessGroup::backend_name() const { return impl_->backend_name; }
c10::Device ProcessGroup::device() const { return impl_->device; }
std::chrono::milliseconds ProcessGroup::timeout() const { return impl_->timeout; }

PendingOp ProcessGroup::all_reduce_async(at::Tensor tensor, ReduceOp op) {
  if (!impl_->backend) return PendingOp();
  auto state = std::make_shared<PendingOp::State>();
  state->tensor = tensor;
  state->what = "all-reduce";
  state->rank = impl_->rank;
  state->size = impl_->size;
  state->backend = impl_->backend_name;
  state->timeout = impl_->timeout;
  c10d::AllreduceOptions options;
  options.reduceOp = to_c10d(op);
  std::vector<at::Tensor> tensors{std::move(tensor)};
  try {
    state->work = impl_->backend->allreduce(tensors, options);
  } catch (const std::exception& e) {
    fail(*state, e);
  }
  return PendingOp(std::move(state));
}

void ProcessGroup::all_reduce(at::Tensor tensor, ReduceOp op) { all_reduce_async(std::move(tensor), op).wait(); }

void ProcessGroup::broadcast(at::Tensor tensor, int root) {
  if (!impl_->backend) return;
  auto state = std::make_shared<PendingOp::State>();
  state->tensor = tensor;
  state->what = fmt::format("broadcast from rank {}", root);
  state->rank = impl_->rank;
  state->size = impl_->size;
  state->backend = impl_->backend_name;
  state->timeout = impl_->timeout;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  std::vector<at::Tensor> tensors{std::move(tensor)};
  try {
    state->work = impl_->backend->broadcast(tensors, options);
  } catch (const std::exception& e) {
    fail(*state, e);
  }
  PendingOp(std::move(state)).wait();
}

void ProcessGroup::barrier() {
  if (!impl_->backend) return;
  auto state = std::make_shared<PendingOp::State>();
  state->what = "barrier";
  state->rank = impl_->rank;
  state->size = impl_->size;
  state->backend = impl_->backend_name;
  state->timeout = impl_->timeout;
  c10d::BarrierOptions options;
  if (impl_->device.is_cuda()) options.device_ids = {impl_->device.index()};
  try {
    state->work = impl_->backend->barrier(options);
  } catch (const std::exception& e) {
    fail(*state, e);
  }
  PendingOp(std::move(state)).wait();
}

std::vector<double> ProcessGroup::all_reduce_scalars(std::vector<double> values, ReduceOp op) {
  if (!impl_->backend || values.empty()) return values;
  auto t = at::tensor(values, at::TensorOptions().dtype(at::kDouble)).to(impl_->device);
  all_reduce(t, op);
  t = t.cpu().contiguous();
  const double* data = t.data_ptr<double>();
  return std::vector<double>(data, data + values.size());
}

double ProcessGroup::all_reduce_scalar(double value, ReduceOp op) { return all_reduce_scalars({value}, op)[0]; }

void ProcessGroup::shutdown() {
  if (!impl_) return;
  impl_->backend.reset();  // joins the backend's threads; NCCL aborts its communicators
  impl_->store.reset();    // rank 0: stops the TCPStore server
}

}  // namespace medsam::dist
