// Every distinct block configuration a search space (every candidate of every searchable layer,
// plus stem and head) or a concrete arch can produce, deduplicated by LUT key, in network order.
// This is the list `profile-latency` times and the latency table is checked against.
#pragma once

#include <string>
#include <vector>

#include "latency_lut/lut_key.h"
#include "ops/op_def.h"
#include "supernet/space_spec.h"

namespace dnas {

struct BlockToTime {
  const OpDef* op = nullptr;
  BlockArgs args;
  LutKey key;
  BlockCost cost;
  std::string first_seen;  // "stem[0]", "layer 3 candidate ir_k5_e6", "head[1]"
};

std::vector<BlockToTime> enumerate_space_blocks(const ResolvedSpace& space, const LutSettings& settings);
std::vector<BlockToTime> enumerate_arch_blocks(const ResolvedArch& arch, const LutSettings& settings);

}  // namespace dnas
