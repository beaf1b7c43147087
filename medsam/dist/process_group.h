// A c10d process group (Gloo on CPU, NCCL on CUDA) behind a small blocking/async API. World size 1
// needs no backend: every collective is then the identity. c10d types stay out of this header.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "medsam/dist/rendezvous.h"

namespace medsam::dist {

struct GroupOptions {
  // "auto" (NCCL when built with CUDA and a GPU is visible, else Gloo), "gloo" or "nccl".
  std::string backend = "auto";
  // Store rendezvous and every collective. A rank that dies or hangs makes the others fail after at
  // most this long (Gloo notices a closed connection at once).
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  // Create the backend even for a world of one (to smoke-test NCCL on a single GPU).
  bool backend_for_single = false;
};

enum class ReduceOp { kSum, kMax, kMin };

// An asynchronous collective in flight. wait() blocks until it is done and throws medsam::Error naming
// the operation and this rank when it failed (peer gone, timeout).
class PendingOp {
 public:
  struct State;
  PendingOp() = default;
  explicit PendingOp(std::shared_ptr<State> state) : state_(std::move(state)) {}
  bool valid() const { return state_ != nullptr; }
  void wait();

 private:
  std::shared_ptr<State> state_;
};

class ProcessGroup {
 public:
  struct Impl;
  // Creates the store (TCPStore; torchrun's agent store when asked) and the backend. Blocks until all
  // ranks joined or the timeout passed.
  static std::shared_ptr<ProcessGroup> create(const Rendezvous& rendezvous, const GroupOptions& options = {});
  // World of one, no backend.
  static std::shared_ptr<ProcessGroup> single();
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  // This process's index on its node (the launcher's LOCAL_RANK): picks its GPU.
  int local_rank() const;
  bool is_main() const { return rank() == 0; }
  // "gloo", "nccl" or "none".
  std::string backend_name() const;
  // Where tensors handed to collectives must live (cpu for Gloo, cuda:<local rank> for NCCL).
  c10::Device device() const;
  std::chrono::milliseconds timeout() const;

  // In-place sum over ranks, asynchronous. The tensor must stay alive and untouched until wait().
  PendingOp all_reduce_async(at::Tensor tensor, ReduceOp op = ReduceOp::kSum);
  void all_reduce(at::Tensor tensor, ReduceOp op = ReduceOp::kSum);
  // In place: every rank ends with root's values.
  void broadcast(at::Tensor tensor, int root = 0);
  void barrier();
  // Metric scalars (losses, Dice sums, counts): reduced in one collective, in double precision.
  std::vector<double> all_reduce_scalars(std::vector<double> values, ReduceOp op = ReduceOp::kSum);
  double all_reduce_scalar(double value, ReduceOp op = ReduceOp::kSum);

  // Releases the backend, then the store. Call barrier() first when other ranks may still need rank 0's
  // store. Idempotent; the destructor calls it.
  void shutdown();

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsam::dist
