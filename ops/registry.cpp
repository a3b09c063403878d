#include "ops/registry.h"

#include <sstream>

#include "common/error.h"

namespace dnas {
namespace {

OpDef make_def(std::string key, OpKind kind, int64_t kernel = 1, int64_t expansion = 1,
               int64_t groups = 1, double squeeze_ratio = 0) {
  OpDef def;
  def.key = std::move(key);
  def.kind = kind;
  def.kernel = kernel;
  def.expansion = expansion;
  def.groups = groups;
  def.squeeze_ratio = squeeze_ratio;
  return def;
}

}  // namespace

void OpRegistry::add(const OpDef& def) {
  DNAS_CHECK(defs_.count(def.key) == 0, "op key '", def.key, "' is registered twice");
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
  for (int64_t k : {3, 5}) {
    for (int64_t e : {1, 3, 6}) {
      const std::string base = "ir_k" + std::to_string(k) + "_e" + std::to_string(e);
      r.add(make_def(base, OpKind::kInvertedResidual, k, e));
      if (e == 1) r.add(make_def(base + "_g2", OpKind::kInvertedResidual, k, e, 2));
    }
  }
  r.add(make_def("skip", OpKind::kSkip));
  for (int64_t k : {3, 5})
    for (int64_t e : {1, 3, 6})
      r.add(make_def("shift_k" + std::to_string(k) + "_e" + std::to_string(e), OpKind::kShift, k, e));
  r.add(make_def("fire_sr0.125", OpKind::kFire, 1, 1, 1, 0.125));
  r.add(make_def("fire_sr0.25", OpKind::kFire, 1, 1, 1, 0.25));
  r.add(make_def("fire_sr0.5", OpKind::kFire, 1, 1, 1, 0.5));
  for (int64_t k : {1, 3, 5, 7}) r.add(make_def("conv_k" + std::to_string(k), OpKind::kConv, k));
  r.add(make_def("maxpool_k3", OpKind::kMaxPool, 3));
  r.add(make_def("avgpool", OpKind::kAvgPool));
  r.add(make_def("fc", OpKind::kLinear));
  r.add(make_def("dropout", OpKind::kDropout));
}

}  // namespace dnas
