#include "ops/registry.h"

#include <sstream>

#include "common/error.h"
#include "ops/families.h"

namespace dnas {

void OpRegistry::add(const OpDef& def) {
  DNAS_CHECK(defs_.count(def.key) == 0, "op key '", def.key, "' is registered twice");
  DNAS_ASSERT(def.lower != nullptr, "op key '", def.key, "' has no lowering");
  defs_.emplace(def.key, def);
  order_.push_back(def.key);
}

const OpDef* OpRegistry::find(const std::string& key) const {
  auto it = defs_.find(key);
  return it == defs_.end() ? nullptr : &it->second;
}

const OpDef& OpRegistry::at(const std::string& key, const std::string& where) const {
  if (const OpDef* def = find(key)) return *def;
  std::ostringstream known;
  for (size_t i = 0; i < order_.size(); ++i) known << (i ? ", " : "") << order_[i];
  throw Error(detail::concat(where, ": unknown op key '", key, "' (known: ", known.str(), ")"));
}

const OpRegistry& OpRegistry::builtin() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_builtin_ops(r);
    return r;
  }();
  return registry;
}

void register_builtin_ops(OpRegistry& r) {
  const auto k_e = [](int64_t k, int64_t e) { return "_k" + std::to_string(k) + "_e" + std::to_string(e); };
  for (int64_t k : {3, 5}) {
    for (int64_t e : {1, 3, 6}) {
      r.add(OpDef("ir" + k_e(k, e), "ir", lower_inverted_residual).with_kernel(k).with_expansion(e).candidate());
      if (e == 1)
        r.add(OpDef("ir" + k_e(k, e) + "_g2", "ir", lower_inverted_residual)
                  .with_kernel(k).with_expansion(e).with_groups(2).candidate());
    }
  }
  r.add(OpDef("skip", "skip", lower_skip).candidate());
  for (int64_t k : {3, 5})
    for (int64_t e : {1, 3, 6})
      r.add(OpDef("shift" + k_e(k, e), "shift", lower_shift_block).with_kernel(k).with_expansion(e).candidate());
  for (const auto& [name, ratio] : {std::pair{"0.125", 0.125}, std::pair{"0.25", 0.25}, std::pair{"0.5", 0.5}})
    r.add(OpDef(std::string("fire_sr") + name, "fire", lower_fire).with_squeeze_ratio(ratio).candidate());
  for (int64_t k : {1, 3, 5, 7}) r.add(OpDef("conv_k" + std::to_string(k), "conv", lower_conv).with_kernel(k));
  r.add(OpDef("maxpool_k3", "maxpool", lower_max_pool).with_kernel(3).with_default_padding(0).without_out());
  r.add(OpDef("avgpool", "avgpool", lower_avg_pool).without_out());
  r.add(OpDef("fc", "fc", lower_linear).out_defaults_to_classes());
  r.add(OpDef("dropout", "dropout", lower_dropout).without_out());
  // MobileNetV3 / FBNetV2-style squeeze-excitation candidates; pair them with `act: hswish`.
  for (int64_t k : {3, 5})
    for (int64_t e : {3, 6})
      r.add(OpDef("ir" + k_e(k, e) + "_se", "ir", lower_inverted_residual)
                .with_kernel(k).with_expansion(e).with_se().candidate());
}

}  // namespace dnas
