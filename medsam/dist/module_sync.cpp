#include "medsam/dist/module_sync.h"

#include <torch/nn/module.h>

#include <map>

#include "medsam/dist/process_group.h"

namespace medsam::dist {

// ref: torch/csrc/distributed/c10d/comm.cpp broadcast_coalesced (buffers of at most buffer_bytes, one per
// dtype; flatten, broadcast, copy back).
void broadcast_tensors(ProcessGroup& group, const std::vector<at::Tensor>& tensors, int root,
                       std::size_t buffer_bytes) {
  if (group.size() == 1 || tensors.empty()) return;
  at::NoGradGuard no_grad;
  std::map<int, std::vector<at::Tensor>> by_dtype;
  for (const auto& t : tensors) by_dtype[static_cast<int>(t.scalar_type())].push_back(t);
  for (auto& [dtype, list] : by_dtype) {
    std::size_t start = 0;
    while (start < list.size()) {
      std::size_t end = start, bytes = 0;
      while (end < list.size() && (end == start || bytes + list[end].nbytes() <= buffer_bytes)) bytes += list[end++].nbytes();
      std::vector<at::Tensor> flat_parts;
      for (std::size_t k = start; k < end; ++k) flat_parts.push_back(list[k].detach().reshape({-1}).to(group.device()));
      at::Tensor flat = at::cat(flat_parts);
      group.broadcast(flat, root);
      int64_t offset = 0;
      for (std::size_t k = start; k < end; ++k) {
        const int64_t n = list[k].numel();
        list[k].copy_(flat.narrow(0, offset, n).view(list[k].sizes()));
        offset += n;
      }
      start = end;
    }
  }
}

// ref: torch/nn/parallel/distributed.py DistributedDataParallel._sync_module_states
void broadcast_module_state(ProcessGroup& group, const torch::nn::Module& module, int root) {
  std::vector<at::Tensor> state = module.parameters(/*recurse=*/true);
  for (const auto& b : module.buffers(/*recurse=*/true)) state.push_back(b);
  broadcast_tensors(group, state, root);
}

}  // namespace medsam::dist
