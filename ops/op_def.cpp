#include "ops/op_def.h"

#include "common/error.h"

namespace dnas {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kRelu: return "relu";
    case Activation::kRelu6: return "relu6";
    case Activation::kNone: return "none";
  }
  return "?";
}

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "relu") return Activation::kRelu;
  if (name == "relu6") return Activation::kRelu6;
  if (name == "none") return Activation::kNone;
  throw Error(detail::concat(where, ": expected activation relu, relu6 or none, got '", name, "'"));
}

bool OpDef::searchable() const {
  return kind == OpKind::kInvertedResidual || kind == OpKind::kSkip || kind == OpKind::kShift ||
         kind == OpKind::kFire;
}

bool OpDef::has_out_channels() const {
  return kind != OpKind::kMaxPool && kind != OpKind::kAvgPool && kind != OpKind::kDropout;
}

int64_t BlockOptions::padding_for(const OpDef& op) const {
  if (padding) return *padding;
  return op.kind == OpKind::kMaxPool ? 0 : op.kernel / 2;
}

std::string FeatureShape::str() const {
  return detail::concat(channels, "x", height, "x", width);
}

}  // namespace dnas
