// The op registry: every block and primitive dnas knows, keyed by its canonical op key, each entry
// naming its family's lowering to primitive steps (families.h). Config parsers, the network
// builder, the latency-table enumerator and the tests all use this one table. It is filled by an
// explicit register_builtin_ops() call (no static self-registration, which a static library's
// linker would drop); OpRegistry::builtin() returns the filled, immutable table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/op_def.h"

namespace dnas {

class OpRegistry {
 public:
  // Throws dnas::Error if the key is already present.
  void add(const OpDef& def);
  // nullptr when unknown.
  const OpDef* find(const std::string& key) const;
  // Throws dnas::Error "<where>: unknown op key '<key>' (known: ...)" when unknown.
  const OpDef& at(const std::string& key, const std::string& where) const;
  // Keys in registration order.
  const std::vector<std::string>& keys() const { return order_; }

  static const OpRegistry& builtin();

 private:
  std::map<std::string, OpDef> defs_;
  std::vector<std::string> order_;
};

void register_builtin_ops(OpRegistry& registry);

}  // namespace dnas
