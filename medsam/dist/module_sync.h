// Making every rank start from the same weights: parameters and buffers broadcast from one rank.
#pragma once

#include <ATen/Tensor.h>

#include <cstddef>
#include <vector>

namespace torch::nn {
class Module;
}

namespace medsam::dist {

class ProcessGroup;

// Overwrites `tensors` in place with root's values, coalesced into flat buffers of at most
// `buffer_bytes` per dtype (few large messages instead of one per tensor).
void broadcast_tensors(ProcessGroup& group, const std::vector<at::Tensor>& tensors, int root = 0,
                       std::size_t buffer_bytes = 250u << 20);

// All parameters and buffers of `module` (recursively), in registration order.
void broadcast_module_state(ProcessGroup& group, const torch::nn::Module& module, int root = 0);

}  // namespace medsam::dist
