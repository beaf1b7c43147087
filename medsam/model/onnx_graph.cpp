#include "medsam/model/onnx_graph.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "medsam/core/error.h"

namespace medsam::onnx_export {

using onnx::Attribute;

GraphBuilder::GraphBuilder(std::map<std::string, at::Tensor> weights) : weights_(std::move(weights)) {}

std::map<std::string, at::Tensor> GraphBuilder::tensors_of(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters(true)) out.emplace(p.key(), p.value().detach().cpu());
  for (const auto& b : module.named_buffers(true)) out.emplace(b.key(), b.value().detach().cpu());
  return out;
}

std::string GraphBuilder::fresh(const std::string& hint) { return fmt::format("{}_{}", hint, counter_++); }

std::string GraphBuilder::op(const std::string& op_type, std::vector<std::string> inputs,
                             std::vector<Attribute> attributes) {
  return op_multi(op_type, std::move(inputs), 1, std::move(attributes))[0];
}

std::vector<std::string> GraphBuilder::op_multi(const std::string& op_type, std::vector<std::string> inputs,
                                                int outputs, std::vector<Attribute> attributes) {
  onnx::Node node;
  node.op_type = op_type;
  node.name = fresh(op_type);
  node.inputs = std::move(inputs);
  for (int i = 0; i < outputs; ++i) node.outputs.push_back(fmt::format("{}:{}", node.name, i));
  node.attributes = std::move(attributes);
  graph_.nodes.push_back(node);
  return node.outputs;
}

void GraphBuilder::output(const std::string& value, const std::string& name) {
  onnx::Node node;
  node.op_type = "Identity";
  node.name = fresh("Identity");
  node.inputs = {value};
  node.outputs = {name};
  graph_.nodes.push_back(std::move(node));
}

const at::Tensor& GraphBuilder::tensor(const std::string& key) const {
  auto it = weights_.find(key);
  if (it == weights_.end()) throw Error(fmt::format("ONNX export: the model has no tensor '{}'", key));
  return it->second;
}

std::string GraphBuilder::weight(const std::string& key) {
  return derived_weight(key, [&] { return tensor(key).to(at::kFloat).contiguous(); });
}

std::string GraphBuilder::derived_weight(const std::string& name, const std::function<at::Tensor()>& make) {
  auto it = added_.find(name);
  if (it != added_.end()) return it->second;
  graph_.initializers.emplace_back(name, make());
  return added_[name] = name;
}

std::string GraphBuilder::constant(const at::Tensor& t, const std::string& hint) {
  const std::string name = fresh(hint);
  graph_.initializers.emplace_back(name, t.cpu().contiguous());
  return name;
}

std::string GraphBuilder::ints(const std::vector<int64_t>& values) {
  return constant(torch::tensor(values, at::kLong), "ints");
}

std::string GraphBuilder::scalar(float v) { return constant(torch::scalar_tensor(v, at::kFloat), "scalar"); }

std::string GraphBuilder::int_scalar(int64_t v) { return constant(torch::scalar_tensor(v, at::kLong), "index"); }

std::string GraphBuilder::linear(const std::string& x, const std::string& prefix, bool bias) {
  const std::string w_t =
      derived_weight(prefix + ".weight.T", [&] { return tensor(prefix + ".weight").to(at::kFloat).t().contiguous(); });
  const std::string y = op("MatMul", {x, w_t});
  return bias ? op("Add", {y, weight(prefix + ".bias")}) : y;
}

std::string GraphBuilder::layer_norm(const std::string& x, const std::string& prefix, float eps) {
  return op("LayerNormalization", {x, weight(prefix + ".weight"), weight(prefix + ".bias")},
            {Attribute::of("axis", int64_t{-1}), Attribute::of("epsilon", eps)});
}

std::string GraphBuilder::layer_norm_2d(const std::string& x, const std::string& prefix, float eps) {
  const std::vector<int64_t> channels{1};
  const std::string mean = op("ReduceMean", {x}, {Attribute::of("axes", channels), Attribute::of("keepdims", int64_t{1})});
  const std::string centred = op("Sub", {x, mean});
  const std::string var = op("ReduceMean", {op("Mul", {centred, centred})},
                             {Attribute::of("axes", channels), Attribute::of("keepdims", int64_t{1})});
  const std::string normed = op("Div", {centred, op("Sqrt", {op("Add", {var, scalar(eps)})})});
  // weight/bias (C,) -> (C, 1, 1) to broadcast over NCHW
  const auto& w = tensor(prefix + ".weight");
  const std::string w3 = constant(w.to(at::kFloat).reshape({w.size(0), 1, 1}), prefix + ".weight");
  const std::string b3 = constant(tensor(prefix + ".bias").to(at::kFloat).reshape({w.size(0), 1, 1}), prefix + ".bias");
  return op("Add", {op("Mul", {normed, w3}), b3});
}

std::string GraphBuilder::gelu(const std::string& x) {
  const std::string erf = op("Erf", {op("Div", {x, scalar(static_cast<float>(std::sqrt(2.0)))})});
  return op("Mul", {op("Mul", {x, scalar(0.5f)}), op("Add", {erf, scalar(1.0f)})});
}

std::string GraphBuilder::conv(const std::string& x, const std::string& prefix, int64_t stride, int64_t pad,
                               bool bias) {
  const auto& w = tensor(prefix + ".weight");
  std::vector<std::string> in{x, weight(prefix + ".weight")};
  if (bias) in.push_back(weight(prefix + ".bias"));
  return op("Conv", in,
            {Attribute::of("kernel_shape", std::vector<int64_t>{w.size(2), w.size(3)}),
             Attribute::of("strides", std::vector<int64_t>{stride, stride}),
             Attribute::of("pads", std::vector<int64_t>{pad, pad, pad, pad})});
}

std::string GraphBuilder::conv_transpose(const std::string& x, const std::string& prefix, int64_t stride) {
  const auto& w = tensor(prefix + ".weight");  // (Cin, Cout, k, k), the same layout in ONNX
  return op("ConvTranspose", {x, weight(prefix + ".weight"), weight(prefix + ".bias")},
            {Attribute::of("kernel_shape", std::vector<int64_t>{w.size(2), w.size(3)}),
             Attribute::of("strides", std::vector<int64_t>{stride, stride})});
}

std::string GraphBuilder::reshape(const std::string& x, const std::vector<int64_t>& shape) {
  return op("Reshape", {x, ints(shape)});
}

std::string GraphBuilder::transpose(const std::string& x, const std::vector<int64_t>& perm) {
  return op("Transpose", {x}, {Attribute::of("perm", perm)});
}

onnx::Graph GraphBuilder::finish(std::string name) {
  onnx::Graph g = std::move(graph_);
  g.name = std::move(name);
  graph_ = onnx::Graph{};
  added_.clear();
  return g;
}

}  // namespace medsam::onnx_export
