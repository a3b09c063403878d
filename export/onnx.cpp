#include "export/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <vector>

#include "ops/block_plan.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/version.h"
#include "ops/registry.h"
#include "export/export_common.h"
#include "supernet/network.h"

namespace dnas {
namespace {

constexpr int64_t kOpset = 13;

// Appends nodes and initializers to a graph; value names are unique and readable
// ("layers.3.dw.conv", "layers.3.dw.bn", "layers.3.act2", ...).
class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto* graph, const NamedTensors& tensors, bool fold_bn)
      : graph_(graph), tensors_(tensors), fold_bn_(fold_bn) {}

  // One block reading value `x`; returns the name of its output value.
  std::string block(const ResolvedLayer& layer, const std::string& prefix, const std::string& x) {
    const BlockPlan plan = plan_block(OpRegistry::builtin().at(layer.spec.op, prefix), layer.args);
    std::vector<std::string> names(plan.steps.size() + 1, x);
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step& s = plan.steps[i];
      const std::string& in = names[static_cast<size_t>(s.inputs[0])];
      const std::string name = prefix + "." + (s.module.empty() ? step_kind_name(s.kind) + std::to_string(i + 1) : s.module);
      std::string& out = names[i + 1];
      switch (s.kind) {
        case StepKind::kConv: {
          const ConvWeights cw = conv_weights(tensors_, plan, i, prefix, fold_bn_);
          std::vector<std::string> inputs{in, initializer(tensor_name(prefix, s.module, "weight"), cw.weight)};
          if (cw.bias.defined()) inputs.push_back(initializer(tensor_name(prefix, s.module, "bias"), cw.bias));
          onnx::NodeProto* c = add_node("Conv", inputs, name);
          set_ints(c, "kernel_shape", {s.kernel, s.kernel});
          set_ints(c, "strides", {s.stride, s.stride});
          set_ints(c, "pads", {s.padding, s.padding, s.padding, s.padding});
          set_ints(c, "dilations", {1, 1});
          set_int(c, "group", s.groups);
          out = c->output(0);
          break;
        }
        case StepKind::kBatchNorm: {
          if (fold_bn_ && bn_folds_into_conv(plan, i)) {
            out = in;  // folded into the conv before it
            break;
          }
          const auto t = [&](const char* which) {
            const std::string n = tensor_name(prefix, s.module, which);
            return initializer(n, tensors_.at(n));
          };
          onnx::NodeProto* n =
              add_node("BatchNormalization", {in, t("weight"), t("bias"), t("running_mean"), t("running_var")}, name);
          set_float(n, "epsilon", static_cast<float>(kBatchNormEps));
          out = n->output(0);
          break;
        }
        case StepKind::kActivation:
          out = activation(s.act, in, name);
          break;
        case StepKind::kShuffle:
          out = channel_shuffle(in, s.groups, s.output, name);
          break;
        case StepKind::kShift:
          out = shift(in, s, plan.shape(s.inputs[0]), name);
          break;
        case StepKind::kConcat: {
          std::vector<std::string> parts;
          for (int v : s.inputs) parts.push_back(names[static_cast<size_t>(v)]);
          onnx::NodeProto* cat = add_node("Concat", parts, name);
          set_int(cat, "axis", 1);
          out = cat->output(0);
          break;
        }
        case StepKind::kAdd:
          out = node("Add", {in, names[static_cast<size_t>(s.inputs[1])]}, name);
          break;
        case StepKind::kMul:
          out = node("Mul", {in, names[static_cast<size_t>(s.inputs[1])]}, name);
          break;
        case StepKind::kMaxPool: {
          onnx::NodeProto* n = add_node("MaxPool", {in}, name);
          set_ints(n, "kernel_shape", {s.kernel, s.kernel});
          set_ints(n, "strides", {s.stride, s.stride});
          set_ints(n, "pads", {s.padding, s.padding, s.padding, s.padding});
          set_int(n, "ceil_mode", s.ceil_mode ? 1 : 0);
          out = n->output(0);
          break;
        }
        case StepKind::kGlobalAvgPool:
          out = node("GlobalAveragePool", {in}, name);
          break;
        case StepKind::kLinear: {
          onnx::NodeProto* flat = add_node("Flatten", {in}, name + ".flatten");
          set_int(flat, "axis", 1);
          const std::string w = tensor_name(prefix, s.module, "weight"), b = tensor_name(prefix, s.module, "bias");
          onnx::NodeProto* gemm =
              add_node("Gemm", {flat->output(0), initializer(w, tensors_.at(w)), initializer(b, tensors_.at(b))}, name);
          set_int(gemm, "transB", 1);
          // Back to N x C x 1 x 1 so that a block after the classifier sees the usual layout.
          out = node("Reshape", {gemm->output(0), int64_constant(name + ".shape", {0, -1, 1, 1})}, name + ".nchw");
          break;
        }
        case StepKind::kDropout:
          out = in;  // the identity at inference
          break;
      }
    }
    return names.back();
  }

  std::string flatten(const std::string& x) {
    onnx::NodeProto* n = add_node("Flatten", {x}, "logits");
    n->set_output(0, "logits");
    set_int(n, "axis", 1);
    return "logits";
  }

 private:
  // Relu; Clip(0, 6) for ReLU6; HardSigmoid(1/6, 1/2) is PyTorch's hardsigmoid, and x times it
  // is hardswish (opset 13 has no HardSwish).
  std::string activation(Activation act, const std::string& x, const std::string& name) {
    switch (act) {
      case Activation::kRelu: return node("Relu", {x}, name);
      case Activation::kRelu6:
        return node("Clip", {x, float_constant(name + ".min", 0.0f), float_constant(name + ".max", 6.0f)}, name);
      case Activation::kHardSigmoid: return hard_sigmoid(x, name);
      case Activation::kHardSwish: return node("Mul", {x, hard_sigmoid(x, name + ".gate")}, name);
      case Activation::kNone: return x;
    }
    return x;
  }
  std::string hard_sigmoid(const std::string& x, const std::string& name) {
    onnx::NodeProto* n = add_node("HardSigmoid", {x}, name);
    set_float(n, "alpha", 1.0f / 6.0f);
    set_float(n, "beta", 0.5f);
    return n->output(0);
  }

  // N x C x H x W -> N x g x C/g x H x W -> swap 1, 2 -> N x C x H x W (ShuffleNet's shuffle).
  std::string channel_shuffle(const std::string& x, int64_t groups, const FeatureShape& shape, const std::string& name) {
    const int64_t channels = shape.channels, h = shape.height, w = shape.width;
    const std::string split =
        node("Reshape", {x, int64_constant(name + ".split_shape", {0, groups, channels / groups, h, w})}, name + ".split");
    onnx::NodeProto* t = add_node("Transpose", {split}, name + ".transpose");
    set_ints(t, "perm", {0, 2, 1, 3, 4});
    return node("Reshape", {t->output(0), int64_constant(name + ".merge_shape", {0, channels, h, w})}, name);
  }

  // Zero-pad by k/2, then one strided Slice per direction over its channel group, concatenated:
  // the same data movement as ops/shift.h, row-major over the k x k window.
  std::string shift(const std::string& x, const Step& s, const FeatureShape& input, const std::string& name) {
    const int64_t k = s.kernel, stride = s.stride, pad = k / 2, channels = s.output.channels;
    const int64_t ho = (input.height - 1) / stride + 1, wo = (input.width - 1) / stride + 1;
    const std::string padded =
        node("Pad", {x, int64_constant(name + ".pads", {0, 0, pad, pad, 0, 0, pad, pad})}, name + ".pad");
    std::vector<std::string> parts;
    int64_t first = 0;
    for (int64_t d = 0; d < k * k; ++d) {
      const int64_t count = channels / (k * k) + (d < channels % (k * k) ? 1 : 0);
      if (count == 0) continue;
      const int64_t dy = d / k, dx = d % k;
      const std::string part = name + "." + std::to_string(d);
      parts.push_back(node("Slice",
                           {padded, int64_constant(part + ".starts", {first, dy, dx}),
                            int64_constant(part + ".ends", {first + count, dy + (ho - 1) * stride + 1, dx + (wo - 1) * stride + 1}),
                            int64_constant(part + ".axes", {1, 2, 3}), int64_constant(part + ".steps", {1, stride, stride})},
                           part));
      first += count;
    }
    onnx::NodeProto* cat = add_node("Concat", parts, name);
    set_int(cat, "axis", 1);
    return cat->output(0);
  }

  onnx::NodeProto* add_node(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& name) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op_type);
    n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(name);
    return n;
  }
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& name) {
    return add_node(op_type, inputs, name)->output(0);
  }

  std::string initializer(const std::string& name, const at::Tensor& value) {
    const at::Tensor t = value.to(at::kFloat).contiguous();
    onnx::TensorProto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.sizes()) proto->add_dims(d);
    proto->set_raw_data(t.data_ptr(), t.numel() * sizeof(float));
    return name;
  }
  std::string float_constant(const std::string& name, float value) {
    onnx::TensorProto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::FLOAT);
    proto->add_float_data(value);
    return name;
  }
  std::string int64_constant(const std::string& name, std::initializer_list<int64_t> values) {
    onnx::TensorProto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::INT64);
    proto->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) proto->add_int64_data(v);
    return name;
  }

  static void set_int(onnx::NodeProto* n, const char* name, int64_t value) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void set_float(onnx::NodeProto* n, const char* name, float value) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void set_ints(onnx::NodeProto* n, const char* name, std::initializer_list<int64_t> values) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }

  onnx::GraphProto* graph_;
  const NamedTensors& tensors_;
  bool fold_bn_;
};

void add_value_info(onnx::ValueInfoProto* info, const std::string& name, std::initializer_list<int64_t> dims) {
  info->set_name(name);
  onnx::TypeProto_Tensor* type = info->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  bool first = true;
  for (int64_t d : dims) {
    onnx::TensorShapeProto_Dimension* dim = type->mutable_shape()->add_dim();
    if (first) dim->set_dim_param("batch");
    else dim->set_dim_value(d);
    first = false;
  }
}

}  // namespace

onnx::ModelProto onnx_model(const NetworkImpl& network, bool fold_bn) {
  at::NoGradGuard no_grad;
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION_2019_1_22);  // IR 4: initializers need not be graph inputs
  model.set_producer_name("dnas");
  model.set_producer_version(dnas_version());
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);

  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("dnas");
  const ResolvedArch& arch = network.resolved();
  add_value_info(graph->add_input(), "input", {0, arch.input.channels, arch.input.height, arch.input.width});

  const NamedTensors tensors(network);
  GraphBuilder builder(graph, tensors, fold_bn);
  std::string x = "input";
  for (const ResolvedLayer& layer : arch.layers)
    x = builder.block(layer, std::string(section_name(layer.section)) + "." + std::to_string(layer.index), x);
  builder.flatten(x);
  const FeatureShape out = arch.layers.back().cost.output;
  add_value_info(graph->add_output(), "logits", {0, out.elements()});
  return model;
}

void export_onnx(const NetworkImpl& network, const std::string& path, bool fold_bn) {
  const onnx::ModelProto model = onnx_model(network, fold_bn);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw Error(path + ": the exported graph fails the ONNX checker: " + error.what());
  }
  write_file_atomic(path, [&](const std::string& temp) {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!(file && model.SerializeToOstream(&file) && file.flush())) throw Error(path + ": cannot write");
  });
}

}  // namespace dnas
