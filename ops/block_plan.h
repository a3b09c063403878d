// Every block lowered to a short list of primitive steps: conv, BN, activation, channel shuffle,
// shift, concat, residual add, multiply, max pool, global average pool, linear, dropout. A plan
// is the one description of a block that everything else walks: the cost model and MAC tally
// (cost.h), the LibTorch module (block_module.h), the TorchScript and ONNX exporters, and the
// latency-table key's variant (block_variant below). Adding a block family is writing its
// lowering (families.h) and one registry entry; nothing here switches on the family. Torch-free.
//
// Values are numbered: 0 is the block's input and step i writes value i + 1; each step reads the
// values in `inputs`. The block's output is its last step's value (the input when there are no
// steps: an identity). Steps that hold weights name where they live in the block's module tree
// ("pw.conv", "pw.bn", "se.fc1", "linear"): those names become checkpoint keys
// ("layers.3.pw.conv.weight") and never change.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops/op_def.h"

namespace dnas {

enum class StepKind {
  kConv,           // in -> out channels, kernel, stride, padding, groups, bias
  kBatchNorm,      // over the input's channels (eps 1e-5, momentum 0.1)
  kActivation,     // act
  kShuffle,        // ShuffleNet channel shuffle over `groups`
  kShift,          // ShiftNet shift (ops/shift.h), `kernel` x `kernel` directions, `stride`
  kConcat,         // along channels, inputs in order
  kAdd,            // inputs[0] + inputs[1] (the residual)
  kMul,            // inputs[0] * inputs[1], the second broadcast over space (squeeze-excitation)
  kMaxPool,        // kernel, stride, padding, ceil_mode
  kGlobalAvgPool,  // to C x 1 x 1
  kLinear,         // a fully connected layer over a C x 1 x 1 map, with bias; output out x 1 x 1
  kDropout,        // probability p; the identity at inference
};
const char* step_kind_name(StepKind kind);

struct Step {
  StepKind kind = StepKind::kConv;
  std::vector<int> inputs;
  std::string module;  // where its weights live, "" for steps without any
  FeatureShape output;
  int64_t in_channels = 0, out_channels = 0;  // kConv, kLinear
  int64_t kernel = 1, stride = 1, padding = 0, groups = 1;
  bool bias = false;       // kConv
  bool ceil_mode = false;  // kMaxPool
  Activation act = Activation::kNone;
  double p = 0;            // kDropout

  int64_t params() const;  // trainable parameters (BN: gamma and beta)
  int64_t macs() const;    // multiply-accumulates per sample (conv and linear only)
  // Whether the step writes a new feature map (BN and activations work in place on their input).
  bool materialises() const;
  // "conv 16->96 k1 s1 p0 g1 bias=0 [pw.conv] -> 96x56x56": what the step computes, canonically.
  std::string str() const;
};

struct BlockPlan {
  std::string op;  // the canonical op key
  FeatureShape input;
  std::vector<Step> steps;

  const FeatureShape& output() const { return steps.empty() ? input : steps.back().output; }
  const FeatureShape& shape(int value) const { return value == 0 ? input : steps[static_cast<size_t>(value - 1)].output; }
  // How many steps read each value (index = value id).
  std::vector<int> uses() const;
  // One line per step, for tests and error messages.
  std::string str() const;
};

// Builds a plan step by step, tracking shapes; the family lowerings (families.cpp) use it. Each
// method returns the value id it wrote.
class PlanBuilder {
 public:
  PlanBuilder(std::string op_key, const FeatureShape& input);

  // conv (module `unit`.conv) -> [BN (`unit`.bn)] -> [act]: the conv + BN + activation unit
  // every family is made of.
  int conv_unit(int x, const std::string& unit, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                Activation act, bool batch_norm = true, bool bias = false, int64_t padding = -1);
  // A bare conv whose weights live at `module` ("se.fc1"); padding -1 means kernel / 2.
  int conv(int x, const std::string& module, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool bias,
           int64_t padding = -1);
  int batch_norm(int x, const std::string& module);
  int activation(int x, Activation act);  // returns x unchanged for Activation::kNone
  int shuffle(int x, int64_t groups);
  int shift(int x, int64_t kernel, int64_t stride);
  int concat(std::initializer_list<int> parts);
  int add(int a, int b);
  int mul(int x, int gate);
  int max_pool(int x, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode);
  int global_avg_pool(int x);
  int linear(int x, const std::string& module, int64_t out);
  int dropout(int x, double p);

  const FeatureShape& shape(int value) const { return plan_.shape(value); }
  const std::string& op() const { return plan_.op; }
  BlockPlan finish() { return std::move(plan_); }

 private:
  int push(Step step);
  BlockPlan plan_;
};

// The op lowered at `args` (op.lower), validated.
BlockPlan plan_block(const OpDef& op, const BlockArgs& args);

// The options, sorted by name, whose values change what the block computes compared with the
// defaults: "act=relu6,pw=0", "" when none does. An option counts only if putting it back to its
// default changes the plan's steps, so no family needs listing here. Names: act, bias, bn, ceil,
// pad, pw (ir_e1_pw). Dropout's p never counts (dropout is the identity at inference).
std::string block_variant(const OpDef& op, const BlockArgs& args);

// The block's canonical description, as error messages, profiler lines, test traces and
// pretty_print use it: "ir_k5_e6{act=relu6}|in=32x56x56|out=32|s=2".
std::string describe_block(const OpDef& op, const BlockArgs& args);

// Spatial output size of a window op; `ceil_mode` follows PyTorch's pooling rule.
int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                           bool ceil_mode = false);

// MobileNet's channel rounding: `value` to a multiple of `divisor`, never below it nor 10% down.
int64_t make_divisible(double value, int64_t divisor = 8);

}  // namespace dnas
