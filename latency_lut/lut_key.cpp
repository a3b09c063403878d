#include "latency_lut/lut_key.h"

#include <cstdio>
#include <vector>

#include "common/error.h"
#include "ops/block_plan.h"

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

LutKey make_lut_key(const OpDef& op, const BlockArgs& args, const LutSettings& settings) {
  LutKey key;
  key.op = op.key;
  key.variant = block_variant(op, args);
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
