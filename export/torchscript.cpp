#include "export/torchscript.h"

#include <torch/script.h>

#include <cstdio>
#include <sstream>

#include "ops/block_plan.h"
#include "common/error.h"
#include "common/file_io.h"
#include "ops/registry.h"
#include "export/export_common.h"
#include "supernet/config_store.h"
#include "supernet/network.h"

namespace dnas {
namespace {

// Collects the tensors the generated code refers to and writes the code line by line.
class Emitter {
 public:
  Emitter(const torch::nn::Module& module, bool fold_bn) : tensors_(module), fold_bn_(fold_bn) {}

  // Registers `name` (a native tensor name) as an attribute and returns `self.<attr>`.
  std::string tensor(std::string name, const torch::Tensor& value, bool is_buffer = false) {
    if (!name.empty() && name[0] == '.') name.erase(0, 1);
    std::string attr = "t_" + name;
    for (char& c : attr)
      if (c == '.') c = '_';
    attributes_.push_back({attr, value.contiguous(), is_buffer});
    return "self." + attr;
  }
  std::string native_tensor(const std::string& name, bool is_buffer = false) {
    return tensor(name, tensors_.at(name), is_buffer);
  }

  void line(const std::string& text) { code_ << "    " << text << "\n"; }

  // conv [-> bn] [-> act] reading `in`, writing `out`; `prefix` names the ConvNormAct module.
  void conv(const ConvPlan& plan, const std::string& prefix, const std::string& in, const std::string& out) {
    const ConvWeights cw = conv_weights(tensors_, plan, prefix, fold_bn_);
    const std::string w = tensor(prefix + ".conv.weight", cw.weight);
    const std::string b = cw.bias.defined() ? tensor(prefix + ".conv.bias", cw.bias) : "None";
    char text[512];
    std::snprintf(text, sizeof text, "%s = torch.conv2d(%s, %s, %s, [%lld, %lld], [%lld, %lld], [1, 1], %lld)", out.c_str(),
                  in.c_str(), w.c_str(), b.c_str(), (long long)plan.stride, (long long)plan.stride,
                  (long long)plan.padding, (long long)plan.padding, (long long)plan.groups);
    line(text);
    if (plan.batch_norm && !cw.bn_folded) {
      line(out + " = torch.batch_norm(" + out + ", " + native_tensor(prefix + ".bn.weight") + ", " +
           native_tensor(prefix + ".bn.bias") + ", " + native_tensor(prefix + ".bn.running_mean", true) + ", " +
           native_tensor(prefix + ".bn.running_var", true) + ", False, 0.1, 1e-05, False)");
    }
    if (plan.act == Activation::kRelu) line(out + " = torch.relu(" + out + ")");
    if (plan.act == Activation::kRelu6) line(out + " = torch.hardtanh(" + out + ", 0.0, 6.0)");
  }

  void block(const ResolvedLayer& layer, const std::string& prefix) {
    const OpDef& op = OpRegistry::builtin().at(layer.spec.op, prefix);
    const BlockArgs& args = layer.args;
    switch (op.kind) {
      case OpKind::kInvertedResidual: {
        const InvertedResidualPlan plan = plan_inverted_residual(op, args);
        std::string y = "x";
        if (plan.expand) {
          conv(*plan.expand, prefix + ".pw", "x", "y");
          y = "y";
          if (plan.shuffle_groups > 1) {
            const std::string g = std::to_string(plan.shuffle_groups);
            line("s = y.size()");
            line("y = y.view([s[0], " + g + ", s[1] // " + g + ", s[2], s[3]]).transpose(1, 2).contiguous().view(s)");
          }
        }
        conv(plan.depthwise, prefix + ".dw", y, "y");
        conv(plan.project, prefix + ".pwl", "y", "y");
        line(plan.residual ? "x = y + x" : "x = y");
        break;
      }
      case OpKind::kSkip: {
        const SkipPlan plan = plan_skip(op, args);
        if (plan.projection) conv(*plan.projection, prefix + ".proj", "x", "x");
        break;
      }
      case OpKind::kShift: {
        const ShiftPlan plan = plan_shift(op, args);
        conv(plan.expand, prefix + ".pw", "x", "y");
        const int64_t k = plan.shift_kernel, s = plan.shift_stride, pad = k / 2, channels = plan.expand.out_channels;
        line("ho = (y.size(2) - 1) // " + std::to_string(s) + " * " + std::to_string(s) + " + 1");
        line("wo = (y.size(3) - 1) // " + std::to_string(s) + " * " + std::to_string(s) + " + 1");
        line("p = torch.constant_pad_nd(y, [" + std::to_string(pad) + ", " + std::to_string(pad) + ", " +
             std::to_string(pad) + ", " + std::to_string(pad) + "], 0.0)");
        std::string parts;
        int64_t first = 0;
        for (int64_t d = 0; d < k * k; ++d) {
          const int64_t count = channels / (k * k) + (d < channels % (k * k) ? 1 : 0);
          if (count == 0) continue;
          const std::string dy = std::to_string(d / k), dx = std::to_string(d % k);
          parts += (parts.empty() ? "" : ", ") + std::string("p[:, ") + std::to_string(first) + ":" +
                   std::to_string(first + count) + ", " + dy + ":" + dy + " + ho:" + std::to_string(s) + ", " + dx + ":" +
                   dx + " + wo:" + std::to_string(s) + "]";
          first += count;
        }
        line("y = torch.cat([" + parts + "], 1)");
        conv(plan.project, prefix + ".pwl", "y", "y");
        line(plan.residual ? "x = y + x" : "x = y");
        break;
      }
      case OpKind::kFire: {
        const FirePlan plan = plan_fire(op, args);
        conv(plan.squeeze, prefix + ".squeeze", "x", "y");
        conv(plan.expand1x1, prefix + ".expand1x1", "y", "a");
        conv(plan.expand3x3, prefix + ".expand3x3", "y", "b");
        line("x = torch.cat([a, b], 1)");
        break;
      }
      case OpKind::kConv:
        conv(plan_conv(op, args), prefix, "x", "x");
        break;
      case OpKind::kMaxPool: {
        const MaxPoolPlan pool = plan_maxpool(op, args);
        char text[256];
        std::snprintf(text, sizeof text, "x = torch.max_pool2d(x, [%lld, %lld], [%lld, %lld], [%lld, %lld], [1, 1], %s)",
                      (long long)pool.kernel, (long long)pool.kernel, (long long)pool.stride, (long long)pool.stride,
                      (long long)pool.padding, (long long)pool.padding, pool.ceil_mode ? "True" : "False");
        line(text);
        break;
      }
      case OpKind::kAvgPool:
        line("x = torch.adaptive_avg_pool2d(x, [1, 1])");
        break;
      case OpKind::kLinear:
        line("x = torch.linear(torch.flatten(x, 1), " + native_tensor(prefix + ".linear.weight") + ", " +
             native_tensor(prefix + ".linear.bias") + ").view([x.size(0), -1, 1, 1])");
        break;
      case OpKind::kDropout:
        break;  // identity at inference
    }
  }

  std::string source(bool flatten) const {
    return "def forward(self, x):\n" + code_.str() + (flatten ? "    return torch.flatten(x, 1)\n" : "    return x\n");
  }

  struct Attribute {
    std::string name;
    torch::Tensor value;
    bool is_buffer;
  };
  const std::vector<Attribute>& attributes() const { return attributes_; }

 private:
  NamedTensors tensors_;
  bool fold_bn_;
  std::vector<Attribute> attributes_;
  std::ostringstream code_;
};

Emitter emit(const NetworkImpl& network, bool fold_bn) {
  Emitter e(network, fold_bn);
  for (const ResolvedLayer& layer : network.resolved().layers)
    e.block(layer, std::string(section_name(layer.section)) + "." + std::to_string(layer.index));
  return e;
}

void write_module(const Emitter& e, bool flatten, const std::string& path, bool lite) {
  torch::jit::Module module("DnasNet");
  for (const auto& a : e.attributes()) {
    if (a.is_buffer) module.register_buffer(a.name, a.value.clone());
    else module.register_parameter(a.name, a.value.clone(), /*is_buffer=*/false);
  }
  try {
    module.define(e.source(flatten));
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    DNAS_ASSERT(false, "export: generated TorchScript does not compile: ", message);
  }
  module.eval();
  write_file_atomic(path, [&](const std::string& temp) {
    try {
      if (lite) module._save_for_mobile(temp);
      else module.save(temp);
    } catch (const c10::Error& error) {
      throw Error(path + ": cannot write (" + std::string(error.what_without_backtrace()).substr(0, 120) + ")");
    }
  });
}

}  // namespace

void export_torchscript(const NetworkImpl& network, const std::string& path, bool fold_bn, bool lite) {
  torch::NoGradGuard no_grad;
  write_module(emit(network, fold_bn), true, path, lite);
}

void export_block_torchscript(const torch::nn::Module& block, const ResolvedLayer& layer, const std::string& path,
                              bool lite) {
  torch::NoGradGuard no_grad;
  Emitter e(block, false);
  e.block(layer, "");
  write_module(e, false, path, lite);
}

}  // namespace dnas
