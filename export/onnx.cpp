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
#include "supernet/config_store.h"
#include "supernet/network.h"

namespace dnas {
namespace {

constexpr int64_t kOpset = 13;

// Appends nodes and initializers to a graph; value names are unique and readable
// ("layers.3.dw", "layers.3.dw.bn", ...).
class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto* graph, const NamedTensors& tensors, bool fold_bn)
      : graph_(graph), tensors_(tensors), fold_bn_(fold_bn) {}

  std::string block(const ResolvedLayer& layer, const std::string& prefix, const std::string& x) {
    const OpDef& op = OpRegistry::builtin().at(layer.spec.op, prefix);
    const BlockArgs& args = layer.args;
    switch (op.kind) {
      case OpKind::kInvertedResidual: {
        const InvertedResidualPlan plan = plan_inverted_residual(op, args);
        std::string y = x;
        if (plan.expand) {
          y = conv(*plan.expand, prefix + ".pw", y);
          if (plan.shuffle_groups > 1) y = channel_shuffle(y, plan.shuffle_groups, plan.expand->out_channels, args.input, prefix);
        }
        y = conv(plan.depthwise, prefix + ".dw", y);
        y = conv(plan.project, prefix + ".pwl", y);
        return plan.residual ? node("Add", {y, x}, prefix + ".add") : y;
      }
      case OpKind::kSkip: {
        const SkipPlan plan = plan_skip(op, args);
        return plan.projection ? conv(*plan.projection, prefix + ".proj", x) : x;
      }
      case OpKind::kShift: {
        const ShiftPlan plan = plan_shift(op, args);
        std::string y = conv(plan.expand, prefix + ".pw", x);
        y = shift(y, plan, args.input, prefix);
        y = conv(plan.project, prefix + ".pwl", y);
        return plan.residual ? node("Add", {y, x}, prefix + ".add") : y;
      }
      case OpKind::kFire: {
        const FirePlan plan = plan_fire(op, args);
        const std::string s = conv(plan.squeeze, prefix + ".squeeze", x);
        const std::string a = conv(plan.expand1x1, prefix + ".expand1x1", s);
        const std::string b = conv(plan.expand3x3, prefix + ".expand3x3", s);
        onnx::NodeProto* cat = add_node("Concat", {a, b}, prefix + ".concat");
        set_int(cat, "axis", 1);
        return cat->output(0);
      }
      case OpKind::kConv:
        return conv(plan_conv(op, args), prefix, x);
      case OpKind::kMaxPool: {
        const MaxPoolPlan pool = plan_maxpool(op, args);
        onnx::NodeProto* n = add_node("MaxPool", {x}, prefix + ".maxpool");
        set_ints(n, "kernel_shape", {pool.kernel, pool.kernel});
        set_ints(n, "strides", {pool.stride, pool.stride});
        set_ints(n, "pads", {pool.padding, pool.padding, pool.padding, pool.padding});
        set_int(n, "ceil_mode", pool.ceil_mode ? 1 : 0);
        return n->output(0);
      }
      case OpKind::kAvgPool:
        return node("GlobalAveragePool", {x}, prefix + ".avgpool");
      case OpKind::kLinear: {
        onnx::NodeProto* flat = add_node("Flatten", {x}, prefix + ".flatten");
        set_int(flat, "axis", 1);
        const std::string w = initializer(prefix + ".linear.weight", tensors_.at(prefix + ".linear.weight"));
        const std::string b = initializer(prefix + ".linear.bias", tensors_.at(prefix + ".linear.bias"));
        onnx::NodeProto* gemm = add_node("Gemm", {flat->output(0), w, b}, prefix + ".linear");
        set_int(gemm, "transB", 1);
        // Back to N x C x 1 x 1 so that a block after the classifier sees the usual layout.
        return node("Reshape", {gemm->output(0), int64_constant(prefix + ".shape", {0, -1, 1, 1})}, prefix + ".nchw");
      }
      case OpKind::kDropout:
        return x;  // identity at inference
    }
    throw Error(prefix + ": op '" + layer.spec.op + "' cannot be expressed in ONNX by this exporter");
  }

  std::string flatten(const std::string& x) {
    onnx::NodeProto* n = add_node("Flatten", {x}, "logits");
    n->set_output(0, "logits");
    set_int(n, "axis", 1);
    return "logits";
  }

 private:
  // conv -> [BatchNormalization, unless folded] -> [Relu | Clip(0, 6)].
  std::string conv(const ConvPlan& plan, const std::string& prefix, const std::string& x) {
    const ConvWeights cw = conv_weights(tensors_, plan, prefix, fold_bn_);
    std::vector<std::string> inputs{x, initializer(prefix + ".conv.weight", cw.weight)};
    if (cw.bias.defined()) inputs.push_back(initializer(prefix + ".conv.bias", cw.bias));
    onnx::NodeProto* c = add_node("Conv", inputs, prefix);
    set_ints(c, "kernel_shape", {plan.kernel, plan.kernel});
    set_ints(c, "strides", {plan.stride, plan.stride});
    set_ints(c, "pads", {plan.padding, plan.padding, plan.padding, plan.padding});
    set_ints(c, "dilations", {1, 1});
    set_int(c, "group", plan.groups);
    std::string y = c->output(0);
    if (plan.batch_norm && !cw.bn_folded) {
      const std::string bn = prefix + ".bn";
      onnx::NodeProto* n = add_node("BatchNormalization",
                                    {y, initializer(bn + ".weight", tensors_.at(bn + ".weight")),
                                     initializer(bn + ".bias", tensors_.at(bn + ".bias")),
                                     initializer(bn + ".running_mean", tensors_.at(bn + ".running_mean")),
                                     initializer(bn + ".running_var", tensors_.at(bn + ".running_var"))},
                                    bn);
      set_float(n, "epsilon", static_cast<float>(kBatchNormEps));
      y = n->output(0);
    }
    if (plan.act == Activation::kRelu) y = node("Relu", {y}, prefix + ".relu");
    if (plan.act == Activation::kRelu6) {
      y = node("Clip", {y, float_constant(prefix + ".min", 0.0f), float_constant(prefix + ".max", 6.0f)},
               prefix + ".relu6");
    }
    return y;
  }

  // N x C x H x W -> N x g x C/g x H x W -> swap 1, 2 -> N x C x H x W (ShuffleNet's shuffle).
  std::string channel_shuffle(const std::string& x, int64_t groups, int64_t channels, const FeatureShape& input,
                              const std::string& prefix) {
    // The expand conv keeps the spatial size (1x1, stride 1).
    const int64_t h = input.height, w = input.width;
    const std::string split =
        node("Reshape", {x, int64_constant(prefix + ".shuffle.split_shape", {0, groups, channels / groups, h, w})},
             prefix + ".shuffle.split");
    onnx::NodeProto* t = add_node("Transpose", {split}, prefix + ".shuffle.transpose");
    set_ints(t, "perm", {0, 2, 1, 3, 4});
    return node("Reshape", {t->output(0), int64_constant(prefix + ".shuffle.merge_shape", {0, channels, h, w})},
                prefix + ".shuffle");
  }

  // Zero-pad by k/2, then one strided Slice per direction over its channel group, concatenated:
  // the same data movement as ShiftImpl, row-major over the k x k window.
  std::string shift(const std::string& x, const ShiftPlan& plan, const FeatureShape& input, const std::string& prefix) {
    const int64_t k = plan.shift_kernel, s = plan.shift_stride, pad = k / 2, channels = plan.expand.out_channels;
    const int64_t ho = (input.height - 1) / s + 1, wo = (input.width - 1) / s + 1;
    const std::string padded = node(
        "Pad", {x, int64_constant(prefix + ".shift.pads", {0, 0, pad, pad, 0, 0, pad, pad})}, prefix + ".shift.pad");
    std::vector<std::string> parts;
    int64_t first = 0;
    for (int64_t d = 0; d < k * k; ++d) {
      const int64_t count = channels / (k * k) + (d < channels % (k * k) ? 1 : 0);
      if (count == 0) continue;
      const int64_t dy = d / k, dx = d % k;
      const std::string name = prefix + ".shift." + std::to_string(d);
      parts.push_back(node("Slice",
                           {padded, int64_constant(name + ".starts", {first, dy, dx}),
                            int64_constant(name + ".ends", {first + count, dy + (ho - 1) * s + 1, dx + (wo - 1) * s + 1}),
                            int64_constant(name + ".axes", {1, 2, 3}), int64_constant(name + ".steps", {1, s, s})},
                           name));
      first += count;
    }
    onnx::NodeProto* cat = add_node("Concat", parts, prefix + ".shift");
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
