#include "export/torchscript.h"

#include <torch/script.h>

#include <cstdio>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"
#include "export/export_common.h"
#include "ops/block_plan.h"
#include "ops/registry.h"
#include "supernet/network.h"

namespace dnas {
namespace {

std::string ints(int64_t a) { return "[" + std::to_string(a) + ", " + std::to_string(a) + "]"; }

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
  std::string native(const std::string& prefix, const std::string& module, const char* which, bool is_buffer = false) {
    const std::string name = tensor_name(prefix, module, which);
    return tensor(name, tensors_.at(name), is_buffer);
  }

  void line(const std::string& text) { code_ << "    " << text << "\n"; }

  // One block: reads `x`, leaves its output in `x`. Value i of the plan is the variable v<i>.
  void block(const ResolvedLayer& layer, const std::string& prefix) {
    const BlockPlan plan = plan_block(OpRegistry::builtin().at(layer.spec.op, prefix), layer.args);
    std::vector<std::string> names(plan.steps.size() + 1, "x");
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step& s = plan.steps[i];
      const std::string in = names[static_cast<size_t>(s.inputs[0])];
      const std::string out = "v" + std::to_string(i + 1);
      names[i + 1] = out;
      switch (s.kind) {
        case StepKind::kConv: {
          const ConvWeights cw = conv_weights(tensors_, plan, i, prefix, fold_bn_);
          const std::string w = tensor(tensor_name(prefix, s.module, "weight"), cw.weight);
          const std::string b = cw.bias.defined() ? tensor(tensor_name(prefix, s.module, "bias"), cw.bias) : "None";
          line(out + " = torch.conv2d(" + in + ", " + w + ", " + b + ", " + ints(s.stride) + ", " + ints(s.padding) +
               ", [1, 1], " + std::to_string(s.groups) + ")");
          break;
        }
        case StepKind::kBatchNorm:
          if (fold_bn_ && bn_folds_into_conv(plan, i)) {
            names[i + 1] = in;  // folded into the conv before it
            break;
          }
          line(out + " = torch.batch_norm(" + in + ", " + native(prefix, s.module, "weight") + ", " +
               native(prefix, s.module, "bias") + ", " + native(prefix, s.module, "running_mean", true) + ", " +
               native(prefix, s.module, "running_var", true) + ", False, 0.1, 1e-05, False)");
          break;
        case StepKind::kActivation:
          line(out + " = " + activation(s.act, in));
          break;
        case StepKind::kShuffle: {
          const std::string g = std::to_string(s.groups);
          line("s = " + in + ".size()");
          line(out + " = " + in + ".view([s[0], " + g + ", s[1] // " + g + ", s[2], s[3]]).transpose(1, 2).contiguous().view(s)");
          break;
        }
        case StepKind::kShift:
          shift(s, in, out);
          break;
        case StepKind::kConcat: {
          std::string parts;
          for (int v : s.inputs) parts += (parts.empty() ? "" : ", ") + names[static_cast<size_t>(v)];
          line(out + " = torch.cat([" + parts + "], 1)");
          break;
        }
        case StepKind::kAdd:
          line(out + " = " + in + " + " + names[static_cast<size_t>(s.inputs[1])]);
          break;
        case StepKind::kMul:
          line(out + " = " + in + " * " + names[static_cast<size_t>(s.inputs[1])]);
          break;
        case StepKind::kMaxPool:
          line(out + " = torch.max_pool2d(" + in + ", " + ints(s.kernel) + ", " + ints(s.stride) + ", " + ints(s.padding) +
               ", [1, 1], " + (s.ceil_mode ? "True" : "False") + ")");
          break;
        case StepKind::kGlobalAvgPool:
          line(out + " = torch.adaptive_avg_pool2d(" + in + ", [1, 1])");
          break;
        case StepKind::kLinear:
          line(out + " = torch.linear(torch.flatten(" + in + ", 1), " + native(prefix, s.module, "weight") + ", " +
               native(prefix, s.module, "bias") + ").view([" + in + ".size(0), -1, 1, 1])");
          break;
        case StepKind::kDropout:
          names[i + 1] = in;  // the identity at inference
          break;
      }
    }
    if (names.back() != "x") line("x = " + names.back());
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
  static std::string activation(Activation act, const std::string& x) {
    switch (act) {
      case Activation::kRelu: return "torch.relu(" + x + ")";
      case Activation::kRelu6: return "torch.hardtanh(" + x + ", 0.0, 6.0)";
      case Activation::kHardSwish: return "torch.hardswish(" + x + ")";
      case Activation::kHardSigmoid: return "torch.hardsigmoid(" + x + ")";
      case Activation::kNone: return x;
    }
    return x;
  }

  // Zero-pad by k/2, then one strided slice per direction over its channel group, concatenated:
  // the same data movement as ops/shift.h, row-major over the k x k window.
  void shift(const Step& s, const std::string& in, const std::string& out) {
    const int64_t k = s.kernel, stride = s.stride, pad = k / 2, channels = s.output.channels;
    const std::string st = std::to_string(stride);
    line("ho = (" + in + ".size(2) - 1) // " + st + " * " + st + " + 1");
    line("wo = (" + in + ".size(3) - 1) // " + st + " * " + st + " + 1");
    const std::string p = std::to_string(pad);
    line("p = torch.constant_pad_nd(" + in + ", [" + p + ", " + p + ", " + p + ", " + p + "], 0.0)");
    std::string parts;
    int64_t first = 0;
    for (int64_t d = 0; d < k * k; ++d) {
      const int64_t count = channels / (k * k) + (d < channels % (k * k) ? 1 : 0);
      if (count == 0) continue;
      const std::string dy = std::to_string(d / k), dx = std::to_string(d % k);
      parts += (parts.empty() ? "" : ", ") + std::string("p[:, ") + std::to_string(first) + ":" +
               std::to_string(first + count) + ", " + dy + ":" + dy + " + ho:" + st + ", " + dx + ":" + dx + " + wo:" + st +
               "]";
      first += count;
    }
    line(out + " = torch.cat([" + parts + "], 1)");
  }

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
