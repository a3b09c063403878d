#include "latency_lut/lut_key.h"

#include <map>

#include "ops/error.h"

namespace dnas {

void check_lut_settings(const LutSettings& s, const std::string& where) {
  DNAS_CHECK(s.batch >= 1, where, ": expected batch >= 1, got ", s.batch);
  DNAS_CHECK(s.dtype == "fp32" || s.dtype == "fp16" || s.dtype == "bf16", where,
             ": expected dtype fp32, fp16 or bf16, got '", s.dtype, "'");
  DNAS_CHECK(s.memory_format == "nchw" || s.memory_format == "nhwc", where,
             ": expected memory format nchw or nhwc, got '", s.memory_format, "'");
}

int64_t dtype_bytes(const std::string& dtype) { return dtype == "fp32" ? 4 : 2; }

std::string LutKey::str() const {
  return detail::concat(op, variant.empty() ? "" : "{" + variant + "}", "|in=", batch, "x", in_channels, "x",
                        in_height, "x", in_width, "|out=", out_channels, "|s=", stride, "|", dtype, "|",
                        memory_format);
}

std::string option_variant(const OpDef& op, const BlockOptions& o) {
  const BlockOptions defaults;
  std::map<std::string, std::string> fields;
  const bool uses_act = op.kind == OpKind::kInvertedResidual || op.kind == OpKind::kSkip ||
                        op.kind == OpKind::kShift || op.kind == OpKind::kConv;
  if (uses_act && o.act != defaults.act) fields["act"] = activation_name(o.act);
  if (op.kind == OpKind::kInvertedResidual && op.expansion == 1 && !o.ir_e1_pointwise) fields["pw"] = "0";
  if (op.kind == OpKind::kConv) {
    if (!o.batch_norm) fields["bn"] = "0";
    if (o.conv_bias() != !o.batch_norm) fields["bias"] = o.conv_bias() ? "1" : "0";
    if (o.padding_for(op) != op.kernel / 2) fields["pad"] = std::to_string(o.padding_for(op));
  }
  if (op.kind == OpKind::kMaxPool) {
    if (o.padding_for(op) != 0) fields["pad"] = std::to_string(o.padding_for(op));
    if (o.ceil_mode) fields["ceil"] = "1";
  }
  std::string variant;
  for (const auto& [name, value] : fields) variant += (variant.empty() ? "" : ",") + name + "=" + value;
  return variant;
}

LutKey make_lut_key(const OpDef& op, const BlockArgs& args, const LutSettings& settings) {
  LutKey key;
  key.op = op.key;
  key.variant = option_variant(op, args.options);
  key.batch = settings.batch;
  key.in_channels = args.input.channels;
  key.in_height = args.input.height;
  key.in_width = args.input.width;
  key.out_channels = op.has_out_channels() ? args.out_channels : args.input.channels;
  key.stride = args.stride;
  key.dtype = settings.dtype;
  key.memory_format = settings.memory_format;
  return key;
}

}  // namespace dnas
