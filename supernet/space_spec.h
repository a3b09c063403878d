// Search spaces ("format": "dnas-space/1", YAML): a fixed stem and head around stages of
// searchable layers, each layer choosing one candidate block.
//
//   format: dnas-space/1
//   name: fbnet
//   input_size: 224          input_channels: 3          num_classes: 1000
//   defaults: {ir_e1_pw: true}                  # layer options, as in arch files
//   candidates: [ir_k3_e1, ..., skip]           # default candidates of every searchable layer
//   stem:   [{op: conv_k3, out: 16, stride: 2}]
//   stages:                                     # `stride` applies to a stage's first layer
//     - {out: 16, repeats: 1, stride: 1}
//     - {out: 24, repeats: 4, stride: 2, candidates: [...]}   # optional per-stage candidates
//   head:   [{op: conv_k1, out: 1504}, {op: avgpool}, {op: fc}]
//
// Every candidate must be a searchable op (ir_*, skip, shift_*, fire_*) and must work at every
// layer it is offered at; parse_space checks this by resolving each candidate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "supernet/arch_spec.h"

namespace dnas {

inline constexpr const char* kSpaceFormat = "dnas-space/1";

struct StageSpec {
  int64_t out = 0;
  int64_t repeats = 1;
  int64_t stride = 1;
  std::vector<std::string> candidates;  // resolved: the stage's own or the space default
};

struct SearchableLayer {
  size_t stage = 0;
  int64_t out = 0;
  int64_t stride = 1;
  std::vector<std::string> candidates;
};

struct SearchSpace {
  std::string name;
  std::string description;
  int64_t input_size = 224;
  int64_t input_channels = 3;
  int64_t num_classes = 1000;
  OptionOverrides defaults;
  std::vector<LayerSpec> stem;
  std::vector<StageSpec> stages;
  std::vector<LayerSpec> head;

  std::vector<SearchableLayer> searchable_layers() const;
  // The concrete arch choosing choices[i] at searchable layer i. Throws dnas::Error when the
  // count is wrong or a choice is not a candidate of its layer.
  ArchSpec derive(const std::vector<std::string>& choices) const;
  // Number of architectures as an exact decimal string, and its log10.
  std::string size_exact() const;
  double size_log10() const;
};

SearchSpace parse_space(const nlohmann::json& document, const std::string& origin);
SearchSpace parse_space_text(const std::string& text, const std::string& origin);

// Shapes and per-candidate costs of every searchable layer (the input shape of a searchable
// layer does not depend on earlier choices: every candidate maps to (out, H/stride)).
struct CandidateCost {
  std::string op;
  BlockArgs args;
  BlockCost cost;
};
struct ResolvedSpaceLayer {
  SearchableLayer layer;
  FeatureShape input;
  std::vector<CandidateCost> candidates;
};
struct ResolvedSpace {
  FeatureShape input;
  std::vector<ResolvedLayer> stem;
  std::vector<ResolvedSpaceLayer> layers;
  std::vector<ResolvedLayer> head;
};
ResolvedSpace resolve_space(const SearchSpace& space, std::optional<int64_t> input_size = std::nullopt,
                            const std::string& origin = "space");

}  // namespace dnas
