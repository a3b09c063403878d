#include "latency_lut/lut_key.h"

#include <cstdio>
#include <map>
#include <vector>

#include "common/error.h"

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

LutKey parse_lut_key(const std::string& text, const std::string& where) {
  const auto fail = [&]() -> LutKey {
    throw Error(where + ": malformed latency-table key '" + text +
                "' (expected <op>[{variant}]|in=NxCxHxW|out=C|s=S|<dtype>|<format>)");
  };
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t bar = text.find('|', start);
    parts.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  if (parts.size() != 6 || parts[0].empty()) return fail();
  LutKey key;
  key.op = parts[0];
  if (const auto brace = key.op.find('{'); brace != std::string::npos) {
    if (key.op.back() != '}') return fail();
    key.variant = key.op.substr(brace + 1, key.op.size() - brace - 2);
    key.op = key.op.substr(0, brace);
  }
  long long n = 0, c = 0, h = 0, w = 0, out = 0, stride = 0;
  char tail = 0;
  if (std::sscanf(parts[1].c_str(), "in=%lldx%lldx%lldx%lld%c", &n, &c, &h, &w, &tail) != 4 ||
      std::sscanf(parts[2].c_str(), "out=%lld%c", &out, &tail) != 1 ||
      std::sscanf(parts[3].c_str(), "s=%lld%c", &stride, &tail) != 1)
    return fail();
  key.batch = n;
  key.in_channels = c;
  key.in_height = h;
  key.in_width = w;
  key.out_channels = out;
  key.stride = stride;
  key.dtype = parts[4];
  key.memory_format = parts[5];
  check_lut_settings({key.batch, key.dtype, key.memory_format}, where);
  if (key.str() != text) return fail();
  return key;
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
