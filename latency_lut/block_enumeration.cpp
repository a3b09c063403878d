#include "latency_lut/block_enumeration.h"

#include <set>

#include "common/error.h"
#include "ops/registry.h"

namespace dnas {
namespace {

class Collector {
 public:
  explicit Collector(const LutSettings& settings) : settings_(settings) {}
  void add(const std::string& op_key, const BlockArgs& args, const BlockCost& cost, std::string where) {
    const OpDef& op = OpRegistry::builtin().at(op_key, where);
    BlockToTime block{&op, args, make_lut_key(op, args, settings_), cost, std::move(where)};
    if (seen_.insert(block.key.str()).second) blocks_.push_back(std::move(block));
  }
  std::vector<BlockToTime> take() { return std::move(blocks_); }

 private:
  LutSettings settings_;
  std::set<std::string> seen_;
  std::vector<BlockToTime> blocks_;
};

}  // namespace

std::vector<BlockToTime> enumerate_space_blocks(const ResolvedSpace& space, const LutSettings& settings) {
  Collector collector(settings);
  for (const ResolvedLayer& l : space.stem) collector.add(l.spec.op, l.args, l.cost, l.label());
  for (size_t i = 0; i < space.layers.size(); ++i)
    for (const CandidateCost& c : space.layers[i].candidates)
      collector.add(c.op, c.args, c.cost, detail::concat("layer ", i, " candidate ", c.op));
  for (const ResolvedLayer& l : space.head) collector.add(l.spec.op, l.args, l.cost, l.label());
  return collector.take();
}

std::vector<BlockToTime> enumerate_arch_blocks(const ResolvedArch& arch, const LutSettings& settings) {
  Collector collector(settings);
  for (const ResolvedLayer& l : arch.layers) collector.add(l.spec.op, l.args, l.cost, l.label());
  return collector.take();
}

}  // namespace dnas
