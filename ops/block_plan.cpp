#include "ops/block_plan.h"

#include <cmath>
#include <map>
#include <sstream>

#include "common/checked_math.h"
#include "common/error.h"

namespace dnas {
namespace {

void check_spatial(const std::string& op, const FeatureShape& in, const FeatureShape& out) {
  DNAS_CHECK(out.height >= 1 && out.width >= 1, op, ": input ", in.str(),
             " is too small for this kernel/stride/padding (output would be ", out.str(), ")");
}

}  // namespace

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kConv: return "conv";
    case StepKind::kBatchNorm: return "bn";
    case StepKind::kActivation: return "act";
    case StepKind::kShuffle: return "shuffle";
    case StepKind::kShift: return "shift";
    case StepKind::kConcat: return "concat";
    case StepKind::kAdd: return "add";
    case StepKind::kMul: return "mul";
    case StepKind::kMaxPool: return "maxpool";
    case StepKind::kGlobalAvgPool: return "avgpool";
    case StepKind::kLinear: return "linear";
    case StepKind::kDropout: return "dropout";
  }
  return "?";
}

int64_t Step::params() const {
  switch (kind) {
    case StepKind::kConv:
      return checked_add(checked_product({kernel, kernel, in_channels / groups, out_channels}, "a parameter count"),
                         bias ? out_channels : 0, "a parameter count");
    case StepKind::kBatchNorm: return 2 * output.channels;  // gamma, beta (running stats are buffers)
    case StepKind::kLinear:
      return checked_add(checked_mul(in_channels, out_channels, "a parameter count"), out_channels, "a parameter count");
    default: return 0;
  }
}

int64_t Step::macs() const {
  switch (kind) {
    case StepKind::kConv:
      return checked_product({kernel, kernel, in_channels / groups, out_channels, output.height, output.width},
                             "a MAC count");
    case StepKind::kLinear: return checked_mul(in_channels, out_channels, "a MAC count");
    default: return 0;
  }
}

bool Step::materialises() const { return kind != StepKind::kBatchNorm && kind != StepKind::kActivation; }

std::string Step::str() const {
  std::ostringstream out;
  out << step_kind_name(kind);
  switch (kind) {
    case StepKind::kConv:
      out << " " << in_channels << "->" << out_channels << " k" << kernel << " s" << stride << " p" << padding << " g"
          << groups << " bias=" << bias;
      break;
    case StepKind::kActivation: out << " " << activation_name(act); break;
    case StepKind::kShuffle: out << " g" << groups; break;
    case StepKind::kShift: out << " k" << kernel << " s" << stride; break;
    case StepKind::kMaxPool: out << " k" << kernel << " s" << stride << " p" << padding << " ceil=" << ceil_mode; break;
    case StepKind::kLinear: out << " " << in_channels << "->" << out_channels; break;
    case StepKind::kDropout: out << " p=" << p; break;
    default: break;
  }
  out << " (";
  for (size_t i = 0; i < inputs.size(); ++i) out << (i ? "," : "") << "%" << inputs[i];
  out << ")";
  if (!module.empty()) out << " [" << module << "]";
  out << " -> " << output.str();
  return out.str();
}

std::vector<int> BlockPlan::uses() const {
  std::vector<int> count(steps.size() + 1, 0);
  for (const Step& s : steps)
    for (int v : s.inputs) ++count[static_cast<size_t>(v)];
  return count;
}

std::string BlockPlan::str() const {
  std::ostringstream out;
  out << op << " on " << input.str() << ":";
  for (size_t i = 0; i < steps.size(); ++i) out << "\n  %" << i + 1 << " = " << steps[i].str();
  return out.str();
}

PlanBuilder::PlanBuilder(std::string op_key, const FeatureShape& input) {
  plan_.op = std::move(op_key);
  plan_.input = input;
}

int PlanBuilder::push(Step step) {
  plan_.steps.push_back(std::move(step));
  return static_cast<int>(plan_.steps.size());
}

int PlanBuilder::conv(int x, const std::string& module, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                      bool bias, int64_t padding) {
  const FeatureShape& in = shape(x);
  Step s;
  s.kind = StepKind::kConv;
  s.inputs = {x};
  s.module = module;
  s.in_channels = in.channels;
  s.out_channels = out;
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding < 0 ? kernel / 2 : padding;
  s.groups = groups;
  s.bias = bias;
  s.output = {out, window_output_size(in.height, kernel, stride, s.padding),
              window_output_size(in.width, kernel, stride, s.padding)};
  check_spatial(plan_.op, plan_.input, s.output);
  return push(std::move(s));
}

int PlanBuilder::batch_norm(int x, const std::string& module) {
  Step s;
  s.kind = StepKind::kBatchNorm;
  s.inputs = {x};
  s.module = module;
  s.output = shape(x);
  return push(std::move(s));
}

int PlanBuilder::activation(int x, Activation act) {
  if (act == Activation::kNone) return x;
  Step s;
  s.kind = StepKind::kActivation;
  s.inputs = {x};
  s.act = act;
  s.output = shape(x);
  return push(std::move(s));
}

int PlanBuilder::conv_unit(int x, const std::string& unit, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                           Activation act, bool batch_norm_after, bool bias, int64_t padding) {
  const std::string prefix = unit.empty() ? "" : unit + ".";
  int y = conv(x, prefix + "conv", out, kernel, stride, groups, bias, padding);
  if (batch_norm_after) y = batch_norm(y, prefix + "bn");
  return activation(y, act);
}

int PlanBuilder::shuffle(int x, int64_t groups) {
  Step s;
  s.kind = StepKind::kShuffle;
  s.inputs = {x};
  s.groups = groups;
  s.output = shape(x);
  return push(std::move(s));
}

int PlanBuilder::shift(int x, int64_t kernel, int64_t stride) {
  const FeatureShape& in = shape(x);
  Step s;
  s.kind = StepKind::kShift;
  s.inputs = {x};
  s.kernel = kernel;
  s.stride = stride;
  s.output = {in.channels, window_output_size(in.height, kernel, stride, kernel / 2),
              window_output_size(in.width, kernel, stride, kernel / 2)};
  return push(std::move(s));
}

int PlanBuilder::concat(std::initializer_list<int> parts) {
  Step s;
  s.kind = StepKind::kConcat;
  s.inputs.assign(parts.begin(), parts.end());
  s.output = shape(s.inputs.front());
  s.output.channels = 0;
  for (int v : s.inputs) s.output.channels += shape(v).channels;
  return push(std::move(s));
}

int PlanBuilder::add(int a, int b) {
  DNAS_ASSERT(shape(a) == shape(b), plan_.op, ": adding ", shape(a).str(), " and ", shape(b).str());
  Step s;
  s.kind = StepKind::kAdd;
  s.inputs = {a, b};
  s.output = shape(a);
  return push(std::move(s));
}

int PlanBuilder::mul(int x, int gate) {
  DNAS_ASSERT(shape(gate).channels == shape(x).channels && shape(gate).height == 1 && shape(gate).width == 1,
              plan_.op, ": gating ", shape(x).str(), " with ", shape(gate).str());
  Step s;
  s.kind = StepKind::kMul;
  s.inputs = {x, gate};
  s.output = shape(x);
  return push(std::move(s));
}

int PlanBuilder::max_pool(int x, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode) {
  const FeatureShape& in = shape(x);
  Step s;
  s.kind = StepKind::kMaxPool;
  s.inputs = {x};
  s.kernel = kernel;
  s.stride = stride;
  s.padding = padding;
  s.ceil_mode = ceil_mode;
  s.output = {in.channels, window_output_size(in.height, kernel, stride, padding, ceil_mode),
              window_output_size(in.width, kernel, stride, padding, ceil_mode)};
  check_spatial(plan_.op, plan_.input, s.output);
  return push(std::move(s));
}

int PlanBuilder::global_avg_pool(int x) {
  Step s;
  s.kind = StepKind::kGlobalAvgPool;
  s.inputs = {x};
  s.output = {shape(x).channels, 1, 1};
  return push(std::move(s));
}

int PlanBuilder::linear(int x, const std::string& module, int64_t out) {
  Step s;
  s.kind = StepKind::kLinear;
  s.inputs = {x};
  s.module = module;
  s.in_channels = shape(x).channels;
  s.out_channels = out;
  s.output = {out, 1, 1};
  return push(std::move(s));
}

int PlanBuilder::dropout(int x, double p) {
  Step s;
  s.kind = StepKind::kDropout;
  s.inputs = {x};
  s.p = p;
  s.output = shape(x);
  return push(std::move(s));
}

BlockPlan plan_block(const OpDef& op, const BlockArgs& args) {
  DNAS_ASSERT(op.lower != nullptr, "op '", op.key, "' has no lowering");
  return op.lower(op, args);
}

namespace {

// An option that may change what a block computes: its variant name, how to put it back to its
// default, and how its current value is written.
struct VariantOption {
  const char* name;
  void (*reset)(BlockOptions&);
  std::string (*value)(const OpDef&, const BlockOptions&);
};

const std::vector<VariantOption>& variant_options() {
  static const std::vector<VariantOption> options = {
      {"act", [](BlockOptions& o) { o.act = BlockOptions{}.act; },
       [](const OpDef&, const BlockOptions& o) -> std::string { return activation_name(o.act); }},
      {"bias", [](BlockOptions& o) { o.bias.reset(); },
       [](const OpDef&, const BlockOptions& o) -> std::string { return o.bias.value_or(false) ? "1" : "0"; }},
      {"bn", [](BlockOptions& o) { o.batch_norm.reset(); },
       [](const OpDef&, const BlockOptions& o) -> std::string { return o.batch_norm.value_or(true) ? "1" : "0"; }},
      {"ceil", [](BlockOptions& o) { o.ceil_mode = BlockOptions{}.ceil_mode; },
       [](const OpDef&, const BlockOptions& o) -> std::string { return o.ceil_mode ? "1" : "0"; }},
      {"pad", [](BlockOptions& o) { o.padding.reset(); },
       [](const OpDef& op, const BlockOptions& o) -> std::string { return std::to_string(op.padding_for(o)); }},
      {"pw", [](BlockOptions& o) { o.ir_e1_pointwise = BlockOptions{}.ir_e1_pointwise; },
       [](const OpDef&, const BlockOptions& o) -> std::string { return o.ir_e1_pointwise ? "1" : "0"; }},
  };
  return options;
}

std::vector<std::string> step_strings(const BlockPlan& plan) {
  std::vector<std::string> out;
  for (const Step& s : plan.steps) out.push_back(s.str());
  return out;
}

}  // namespace

std::string block_variant(const OpDef& op, const BlockArgs& args) {
  const std::vector<std::string> steps = step_strings(plan_block(op, args));
  std::string variant;
  for (const VariantOption& option : variant_options()) {
    BlockArgs reset = args;
    option.reset(reset.options);
    if (step_strings(plan_block(op, reset)) == steps) continue;
    variant += (variant.empty() ? "" : ",") + std::string(option.name) + "=" + option.value(op, args.options);
  }
  return variant;
}

std::string describe_block(const OpDef& op, const BlockArgs& args) {
  std::string variant;
  try {
    variant = block_variant(op, args);
  } catch (const Error&) {
    // The block cannot be built with these arguments: describe what was asked for.
  }
  return detail::concat(op.key, variant.empty() ? "" : "{" + variant + "}", "|in=", args.input.str(),
                        "|out=", op.has_out_channels() ? args.out_channels : args.input.channels, "|s=", args.stride);
}

int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode) {
  const int64_t span = input + 2 * padding - kernel;
  if (span < 0) return 0;
  if (!ceil_mode) return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  // PyTorch: the last window must start inside the input or its left padding.
  if ((out - 1) * stride >= input + padding) --out;
  return out;
}

int64_t make_divisible(double value, int64_t divisor) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * value) rounded += divisor;
  return rounded;
}

}  // namespace dnas
