#include "ops/op_def.h"

#include "common/checked_math.h"
#include "common/error.h"

namespace dnas {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kRelu: return "relu";
    case Activation::kRelu6: return "relu6";
    case Activation::kHardSwish: return "hswish";
    case Activation::kHardSigmoid: return "hsigmoid";
    case Activation::kNone: return "none";
  }
  return "?";
}

Activation parse_activation(const std::string& name, const std::string& where) {
  for (Activation act : {Activation::kRelu, Activation::kRelu6, Activation::kHardSwish, Activation::kHardSigmoid,
                         Activation::kNone})
    if (name == activation_name(act)) return act;
  throw Error(detail::concat(where, ": expected activation relu, relu6, hswish, hsigmoid or none, got '", name, "'"));
}

int64_t OpDef::padding_for(const BlockOptions& options) const {
  if (options.padding) return *options.padding;
  return default_padding >= 0 ? default_padding : kernel / 2;
}

int64_t FeatureShape::elements() const { return checked_product({channels, height, width}, "a feature map's size"); }

std::string FeatureShape::str() const { return detail::concat(channels, "x", height, "x", width); }

}  // namespace dnas
