// Building an ONNX graph (opset 17) from SAM's weights: node and initializer bookkeeping plus the layers
// the SAM graphs repeat (linear, LayerNorm, LayerNorm2d, exact GELU, convolutions). Used by
// onnx_export_encoder.cpp and onnx_export_decoder.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "medsam/io/onnx_model.h"

namespace medsam::onnx_export {

class GraphBuilder {
 public:
  // weights: SAM state-dict names -> fp32 CPU tensors (the loaded model's parameters and buffers).
  explicit GraphBuilder(std::map<std::string, at::Tensor> weights);
  // A module's parameters and buffers by their state-dict names, detached, on the CPU.
  static std::map<std::string, at::Tensor> tensors_of(const torch::nn::Module& module);

  // A node with one output (returned) or several.
  std::string op(const std::string& op_type, std::vector<std::string> inputs,
                 std::vector<onnx::Attribute> attributes = {});
  std::vector<std::string> op_multi(const std::string& op_type, std::vector<std::string> inputs, int outputs,
                                    std::vector<onnx::Attribute> attributes = {});
  // Names the value `name` (a graph output): an Identity node from `value`.
  void output(const std::string& value, const std::string& name);

  // The checkpoint tensor `key` as an initializer of that name; Error naming the key when absent.
  std::string weight(const std::string& key);
  // An initializer computed from checkpoint tensors (a transposed weight, a gathered table), made once
  // per name: later calls return the name without calling `make`.
  std::string derived_weight(const std::string& name, const std::function<at::Tensor()>& make);
  const at::Tensor& tensor(const std::string& key) const;
  // An initializer holding `t` (made contiguous, CPU), named after `hint`.
  std::string constant(const at::Tensor& t, const std::string& hint = "const");
  std::string ints(const std::vector<int64_t>& values);  // 1-D int64
  std::string scalar(float v);                           // 0-D float
  std::string int_scalar(int64_t v);                     // 0-D int64

  // ref: torch.nn.Linear.forward: x @ W^T + b (W stored transposed as KEY.weight.T)
  std::string linear(const std::string& x, const std::string& prefix, bool bias = true);
  // ref: torch.nn.LayerNorm.forward over the last axis
  std::string layer_norm(const std::string& x, const std::string& prefix, float eps);
  // ref: segment_anything/modeling/common.py LayerNorm2d.forward (over channels of NCHW, biased variance)
  std::string layer_norm_2d(const std::string& x, const std::string& prefix, float eps);
  // ref: torch.nn.GELU (approximate="none"): 0.5 x (1 + erf(x / sqrt 2))
  std::string gelu(const std::string& x);
  std::string relu(const std::string& x) { return op("Relu", {x}); }
  std::string cast(const std::string& x, onnx::ElemType to) {
    return op("Cast", {x}, {onnx::Attribute::of("to", static_cast<int64_t>(to))});
  }
  // ref: torch.nn.Conv2d.forward (square kernel from the weight, no groups/dilation)
  std::string conv(const std::string& x, const std::string& prefix, int64_t stride, int64_t pad, bool bias);
  // ref: torch.nn.ConvTranspose2d.forward (kernel = stride, no padding)
  std::string conv_transpose(const std::string& x, const std::string& prefix, int64_t stride);
  std::string reshape(const std::string& x, const std::vector<int64_t>& shape);  // 0 copies, -1 infers
  std::string transpose(const std::string& x, const std::vector<int64_t>& perm);

  // Hands over the nodes and initializers; inputs/outputs are the caller's.
  onnx::Graph finish(std::string name);

 private:
  std::string fresh(const std::string& hint);

  std::map<std::string, at::Tensor> weights_;
  std::map<std::string, std::string> added_;  // weight key -> initializer name already added
  onnx::Graph graph_;
  int counter_ = 0;
};

}  // namespace medsam::onnx_export
