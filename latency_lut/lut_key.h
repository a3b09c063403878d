// The canonical key of one latency measurement: which block (op key plus any non-default options
// that change what it computes), at which input shape, output channels, stride, batch, dtype and
// memory format. Its string form is the LUT's primary key and what error messages list:
//
//   <op>[{<variant>}]|in=<N>x<C>x<H>x<W>|out=<Cout>|s=<stride>|<dtype>|<memory format>
//   ir_k5_e6|in=1x32x56x56|out=32|s=2|fp32|nchw
//   ir_k3_e1{act=relu6,pw=0}|in=1x16x112x112|out=16|s=1|fp32|nchw
//
// The variant lists, sorted by name, the options that change what the block computes
// (ops/block_plan.h, block_variant): act, bias, bn, ceil, pad, pw. dtype is fp32 | fp16 | bf16;
// memory format is nchw | nhwc.
#pragma once

#include <cstdint>
#include <string>

#include "ops/op_def.h"

namespace dnas {

struct LutSettings {
  int64_t batch = 1;
  std::string dtype = "fp32";
  std::string memory_format = "nchw";
};

// Throws dnas::Error naming `where` for an unknown dtype / memory format or a batch < 1.
void check_lut_settings(const LutSettings& settings, const std::string& where);
int64_t dtype_bytes(const std::string& dtype);

struct LutKey {
  std::string op;
  std::string variant;  // "" when every option is at its default
  int64_t batch = 1;
  int64_t in_channels = 0, in_height = 0, in_width = 0;
  int64_t out_channels = 0;
  int64_t stride = 1;
  std::string dtype = "fp32";
  std::string memory_format = "nchw";

  std::string str() const;
};

// The inverse of LutKey::str(); throws dnas::Error naming `where` for a malformed key.
LutKey parse_lut_key(const std::string& text, const std::string& where);

LutKey make_lut_key(const OpDef& op, const BlockArgs& args, const LutSettings& settings);

}  // namespace dnas
