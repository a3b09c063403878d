#include "tests/onnx_reference.h"

#include <onnx/onnx_pb.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace dnas::testing {
namespace {

at::Tensor from_proto(const onnx::TensorProto& proto) {
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  if (proto.data_type() == onnx::TensorProto::FLOAT) {
    if (!proto.raw_data().empty()) {
      const std::string& raw = proto.raw_data();
      return at::from_blob(const_cast<char*>(raw.data()), {static_cast<int64_t>(raw.size() / sizeof(float))}, at::kFloat)
          .clone()
          .view(dims);
    }
    std::vector<float> values(proto.float_data().begin(), proto.float_data().end());
    return at::tensor(values).view(dims);
  }
  if (proto.data_type() == onnx::TensorProto::INT64) {
    std::vector<int64_t> values(proto.int64_data().begin(), proto.int64_data().end());
    return at::tensor(values, at::kLong).view(dims);
  }
  throw std::runtime_error("onnx reference: initializer " + proto.name() + " has an unsupported data type");
}

class Attributes {
 public:
  explicit Attributes(const onnx::NodeProto& node) : node_(node) {}
  int64_t i(const std::string& name, int64_t fallback) const {
    const onnx::AttributeProto* a = find(name);
    return a ? a->i() : fallback;
  }
  float f(const std::string& name, float fallback) const {
    const onnx::AttributeProto* a = find(name);
    return a ? a->f() : fallback;
  }
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> fallback) const {
    const onnx::AttributeProto* a = find(name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
  }

 private:
  const onnx::AttributeProto* find(const std::string& name) const {
    for (const auto& a : node_.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  const onnx::NodeProto& node_;
};

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// ONNX pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over the listed axes; ATen's
// constant_pad_nd wants (last_begin, last_end, second_last_begin, ...).
at::Tensor pad_constant(const at::Tensor& x, const std::vector<int64_t>& pads) {
  const size_t n = pads.size() / 2;
  std::vector<int64_t> aten;
  for (size_t k = n; k-- > 0;) {
    aten.push_back(pads[k]);
    aten.push_back(pads[k + n]);
  }
  return at::constant_pad_nd(x, aten, 0.0);
}

at::Tensor evaluate(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  const Attributes attr(node);
  const std::string& op = node.op_type();
  if (op == "Conv") {
    const std::vector<int64_t> pads = attr.ints("pads", {0, 0, 0, 0});
    const std::vector<int64_t> strides = attr.ints("strides", {1, 1});
    const std::vector<int64_t> dilations = attr.ints("dilations", {1, 1});
    const at::Tensor padded = pad_constant(in[0], pads);
    const at::Tensor bias = in.size() > 2 ? in[2] : at::Tensor();
    return at::conv2d(padded, in[1], bias, at::IntArrayRef(strides), at::IntArrayRef({0, 0}),
                      at::IntArrayRef(dilations), attr.i("group", 1));
  }
  if (op == "BatchNormalization") {
    const float eps = attr.f("epsilon", 1e-5f);
    auto channel = [](const at::Tensor& t) { return t.view({1, -1, 1, 1}); };
    return (in[0] - channel(in[3])) / at::sqrt(channel(in[4]) + eps) * channel(in[1]) + channel(in[2]);
  }
  if (op == "Relu") return at::clamp_min(in[0], 0.0);
  if (op == "Clip") return at::clamp(in[0], in[1].item<float>(), in[2].item<float>());
  if (op == "Add") return in[0] + in[1];
  if (op == "Mul") return in[0] * in[1];  // numpy broadcasting, as ONNX's Mul
  // max(0, min(1, alpha * x + beta)), ONNX's defaults alpha 0.2, beta 0.5.
  if (op == "HardSigmoid") return at::clamp(attr.f("alpha", 0.2f) * in[0] + attr.f("beta", 0.5f), 0.0, 1.0);
  if (op == "Concat") return at::cat(in, attr.i("axis", 0));
  if (op == "Transpose") return in[0].permute(attr.ints("perm", {})).contiguous();
  if (op == "Reshape") {
    std::vector<int64_t> shape = to_vector(in[1]);
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] == 0) shape[d] = in[0].size(static_cast<int64_t>(d));  // 0 copies the input's dimension
    return in[0].reshape(shape);
  }
  if (op == "Flatten") {
    const int64_t axis = attr.i("axis", 1);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[0].size(d);
    return in[0].reshape({outer, -1});
  }
  if (op == "Gemm") {
    const at::Tensor a = attr.i("transA", 0) ? in[0].t() : in[0];
    const at::Tensor b = attr.i("transB", 0) ? in[1].t() : in[1];
    return attr.f("alpha", 1.0f) * at::matmul(a, b) + attr.f("beta", 1.0f) * in[2];
  }
  if (op == "Pad") {
    if (node.attribute_size() != 0) throw std::runtime_error("onnx reference: Pad " + node.name() + ": attributes");
    return pad_constant(in[0], to_vector(in[1]));
  }
  if (op == "Slice") {
    const std::vector<int64_t> starts = to_vector(in[1]), ends = to_vector(in[2]), axes = to_vector(in[3]),
                               steps = to_vector(in[4]);
    at::Tensor y = in[0];
    for (size_t k = 0; k < axes.size(); ++k) y = y.slice(axes[k], starts[k], std::min(ends[k], y.size(axes[k])), steps[k]);
    return y;
  }
  if (op == "MaxPool") {
    const std::vector<int64_t> pads = attr.ints("pads", {0, 0, 0, 0});
    if (pads[0] != pads[2] || pads[1] != pads[3]) throw std::runtime_error("onnx reference: asymmetric MaxPool pads");
    return at::max_pool2d(in[0], attr.ints("kernel_shape", {}), attr.ints("strides", {1, 1}), {pads[0], pads[1]},
                          {1, 1}, attr.i("ceil_mode", 0) != 0);
  }
  if (op == "GlobalAveragePool") return in[0].mean({2, 3}, /*keepdim=*/true);
  throw std::runtime_error("onnx reference: operator " + op + " (node " + node.name() + ") is not implemented");
}

}  // namespace

at::Tensor run_onnx_reference(const onnx::ModelProto& model, const at::Tensor& input) {
  at::NoGradGuard no_grad;
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, at::Tensor> values;
  for (const auto& init : graph.initializer()) values[init.name()] = from_proto(init);
  values[graph.input(0).name()] = input;
  for (const auto& node : graph.node()) {
    std::vector<at::Tensor> in;
    for (const auto& name : node.input()) {
      auto it = values.find(name);
      if (it == values.end()) throw std::runtime_error("onnx reference: node " + node.name() + " reads undefined " + name);
      in.push_back(it->second);
    }
    values[node.output(0)] = evaluate(node, in);
  }
  return values.at(graph.output(0).name());
}

}  // namespace dnas::testing
