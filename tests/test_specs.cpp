// Arch and search-space specs: parsing, validation, name resolution, space expansion, and the
// exact one-line errors for bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "common/error.h"
#include "supernet/config_store.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using dnas::testing::error_of;

const char* kTinyArch = R"({
  "format": "dnas-arch/1", "name": "tiny", "input_size": 8, "input_channels": 1, "num_classes": 4,
  "stem": [{"op": "conv_k3", "out": 8}],
  "layers": [{"op": "ir_k3_e3", "out": 8}, {"op": "skip", "out": 16, "stride": 2}],
  "head": [{"op": "avgpool"}, {"op": "fc"}]
})";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ArchSpec, ParsesAndResolves) {
  const ArchSpec arch = parse_arch_text(kTinyArch, "tiny.json");
  EXPECT_EQ(arch.name, "tiny");
  ASSERT_EQ(arch.layers.size(), 2u);
  EXPECT_TRUE(arch.head[1].out_is_num_classes);
  const ResolvedArch r = resolve_arch(arch);
  ASSERT_EQ(r.layers.size(), 5u);
  EXPECT_EQ(r.layers[2].cost.output, (FeatureShape{16, 4, 4}));
  EXPECT_EQ(r.layers.back().cost.output, (FeatureShape{4, 1, 1}));
}

TEST(ArchSpec, ErrorsNameFileKeyAndValue) {
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "ir_k3_e3", "ir_k9_e3"), "a.json"); })
                .rfind("a.json: layers[0].op: unknown op key 'ir_k9_e3' (known: ir_k3_e1, ", 0),
            0u);
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "\"out\": 16,", "\"outt\": 16,"), "a.json"); }),
            "a.json: layers[1].out: missing required key (expected the output channel count of skip)");
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "\"name\"", "\"nmae\""), "a.json"); })
                .rfind("a.json: nmae: unknown key (allowed here: ", 0),
            0u);
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "\"stride\": 2", "\"stride\": 0"), "a.json"); }),
            "a.json: layers[1].stride: expected a stride >= 1, got 0");
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "\"out\": 8}]", "\"out\": -8}]"), "a.json"); }),
            "a.json: stem[0].out: expected a positive channel count, got -8");
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "\"out\": 8}]", "\"out\": \"8\"}]"), "a.json"); }),
            "a.json: stem[0].out: expected a positive integer or \"num_classes\", got \"8\"");
  EXPECT_EQ(error_of([] { parse_arch_text(replace(kTinyArch, "dnas-arch/1", "dnas-arch/9"), "a.json"); }),
            "a.json: format: expected \"dnas-arch/1\", got \"dnas-arch/9\"");
  EXPECT_EQ(error_of([] { parse_arch_text("", "empty.json"); }), "empty.json: file is empty (expected a JSON object)");
  EXPECT_EQ(error_of([] { parse_arch_text("[1, 2]", "list.json"); }), "list.json: document: expected an object, got [1,2]");
  const std::string malformed = error_of([] { parse_arch_text("{\"format\": \"dnas-arch/1\",,}", "bad.json"); });
  EXPECT_EQ(malformed.rfind("bad.json: malformed JSON: parse error at line 1, column 26", 0), 0u) << malformed;
}

TEST(ArchSpec, ResolveErrorsNameTheLayer) {
  // A 7x7 unpadded conv on a 2x2 map, and a classifier without global pooling.
  const std::string shrink = replace(kTinyArch, "{\"op\": \"ir_k3_e3\", \"out\": 8}",
                                     "{\"op\": \"conv_k7\", \"out\": 8, \"padding\": 0, \"stride\": 2}");
  EXPECT_NO_THROW(resolve_arch(parse_arch_text(shrink, "a.json")));  // 8x8 -> 1x1 still works
  const std::string message = error_of([&] { resolve_arch(parse_arch_text(shrink, "a.json"), 2, "a.json"); });
  EXPECT_EQ(message.rfind("a.json: layers[0] (input 8x2x2): conv_k7: input 8x2x2 is too small", 0), 0u) << message;
  const std::string no_pool = replace(kTinyArch, "{\"op\": \"avgpool\"}, ", "");
  EXPECT_EQ(error_of([&] { resolve_arch(parse_arch_text(no_pool, "a.json"), std::nullopt, "a.json"); }),
            "a.json: head[0] (input 16x4x4): fc: expected a 1x1 input (put avgpool before fc), got 16x4x4");
  const std::string g2_odd = replace(kTinyArch, "ir_k3_e3\", \"out\": 8", "ir_k3_e1_g2\", \"out\": 7");
  EXPECT_EQ(error_of([&] { resolve_arch(parse_arch_text(g2_odd, "a.json"), std::nullopt, "a.json"); }),
            "a.json: layers[0] (input 8x8x8): ir_k3_e1_g2: output channels 7 are not divisible by groups 2");
}

TEST(ConfigStore, ResolvesZooAndSpaceNamesWithoutAPath) {
  const std::vector<std::string> models = {"fbnet_a", "fbnet_b", "fbnet_c", "mobilenet_v2", "squeezenet1_0",
                                           "squeezenet1_1"};
  for (const std::string& m : models) EXPECT_NO_THROW(load_arch(m)) << m;
  for (const char* s : {"fbnet", "small", "mixed", "small_mixed"}) EXPECT_NO_THROW(load_space(s)) << s;
  const auto names = config_names(ConfigKind::kModel);
  for (const std::string& m : models) EXPECT_NE(std::find(names.begin(), names.end(), m), names.end());
  EXPECT_EQ(find_config(ConfigKind::kModel, "fbnet_c")->origin, "builtin:models/fbnet_c.json");
}

TEST(ConfigStore, UnknownNamesAndMissingFiles) {
  EXPECT_EQ(error_of([] { load_arch("fbnet_z"); })
                .rfind("unknown model 'fbnet_z' (not a file; known models: fbnet_a, fbnet_b, ", 0),
            0u);
  EXPECT_EQ(error_of([] { load_arch("/nonexistent/net.json"); }),
            "/nonexistent/net.json: cannot read file (No such file or directory)");
  EXPECT_EQ(error_of([] { load_space("/tmp"); }), "/tmp: is a directory, expected a regular file");
}

TEST(ConfigStore, DnasConfigDirAddsModels) {
  const auto dir = std::filesystem::temp_directory_path() / "dnas_test_configs";
  std::filesystem::create_directories(dir / "models");
  std::ofstream(dir / "models" / "tiny.json") << kTinyArch;
  setenv("DNAS_CONFIG_DIR", dir.c_str(), 1);
  EXPECT_EQ(load_arch("tiny").name, "tiny");
  unsetenv("DNAS_CONFIG_DIR");
  std::filesystem::remove_all(dir);
}

TEST(SearchSpace, FbnetIsThePaperSpace) {
  const SearchSpace space = load_space("fbnet");
  const auto layers = space.searchable_layers();
  ASSERT_EQ(layers.size(), 22u);
  const std::vector<std::string> candidates = {"ir_k3_e1", "ir_k3_e1_g2", "ir_k3_e3", "ir_k3_e6", "ir_k5_e1",
                                               "ir_k5_e1_g2", "ir_k5_e3", "ir_k5_e6", "skip"};
  for (const auto& l : layers) EXPECT_EQ(l.candidates, candidates);
  EXPECT_EQ(space.size_exact(), "984770902183611232881");  // 9^22
  EXPECT_NEAR(space.size_log10(), 22 * std::log10(9.0), 1e-9);
  // Table 1: (out, repeats, first stride) per stage.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> table = {
      {16, 1, 1}, {24, 4, 2}, {32, 4, 2}, {64, 4, 2}, {112, 4, 1}, {184, 4, 2}, {352, 1, 1}};
  ASSERT_EQ(space.stages.size(), table.size());
  for (size_t s = 0; s < table.size(); ++s) {
    EXPECT_EQ(space.stages[s].out, std::get<0>(table[s]));
    EXPECT_EQ(space.stages[s].repeats, std::get<1>(table[s]));
    EXPECT_EQ(space.stages[s].stride, std::get<2>(table[s]));
  }
  const ResolvedSpace r = resolve_space(space);
  EXPECT_EQ(r.layers.back().input, (FeatureShape{184, 7, 7}));
  EXPECT_EQ(r.head.back().cost.output, (FeatureShape{1000, 1, 1}));
}

TEST(SearchSpace, DeriveBuildsTheChosenArch) {
  const SearchSpace space = load_space("small");
  std::vector<std::string> choices(space.searchable_layers().size(), "ir_k5_e6");
  choices[0] = "skip";
  const ArchSpec arch = space.derive(choices);
  EXPECT_EQ(arch.layers.size(), choices.size());
  EXPECT_EQ(arch.layers[0].op, "skip");
  EXPECT_EQ(arch.origin["space"], "small");
  EXPECT_NO_THROW(resolve_arch(arch));
  choices[1] = "fire_sr0.5";
  EXPECT_EQ(error_of([&] { space.derive(choices); }), "space small: layer 1 has no candidate 'fire_sr0.5'");
  choices.pop_back();
  EXPECT_EQ(error_of([&] { space.derive(choices); }), "space small: expected 8 choices (one per searchable layer), got 7");
}

TEST(SearchSpace, MixedSpaceOffersEveryBlockFamily) {
  const SearchSpace space = load_space("mixed");
  std::set<std::string> families;
  for (const auto& c : space.stages[0].candidates) families.insert(c.substr(0, c.find('_')));
  EXPECT_EQ(families, (std::set<std::string>{"ir", "shift", "fire", "skip"}));
}

const char* kTinySpace = R"(format: dnas-space/1
name: tiny
input_size: 16
input_channels: 3
num_classes: 5
candidates: [ir_k3_e3, skip]
stem:
  - {op: conv_k3, out: 8}
stages:
  - {out: 8, repeats: 2, stride: 1}
  - {out: 16, repeats: 1, stride: 2}
head:
  - {op: avgpool}
  - {op: fc}
)";

TEST(SearchSpace, ErrorsNameFileKeyAndValue) {
  EXPECT_NO_THROW(parse_space_text(kTinySpace, "t.yaml"));
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "stride: 2}", "stride: 3}"), "t.yaml"); }),
            "t.yaml: stages[1].stride: expected stride 1 or 2, got 3");
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "[ir_k3_e3, skip]", "[ir_k3_e3, conv_k3]"), "t.yaml"); }),
            "t.yaml: candidates[1]: 'conv_k3' is a primitive, not a searchable block (use ir_*, skip, shift_* or fire_*)");
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "[ir_k3_e3, skip]", "[ir_k3_e3, ir_k4_e3]"), "t.yaml"); })
                .rfind("t.yaml: candidates[1]: unknown op key 'ir_k4_e3'", 0),
            0u);
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "repeats: 2", "repeat: 2"), "t.yaml"); }),
            "t.yaml: stages[0].repeats: missing required key (expected an integer)");
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "repeats: 1,", "repeats: 1, colour: red,"), "t.yaml"); })
                .rfind("t.yaml: stages[1].colour: unknown key (allowed here: ", 0),
            0u);
  EXPECT_EQ(error_of([] { parse_space_text(replace(kTinySpace, "out: 16,", "out: 0,"), "t.yaml"); }),
            "t.yaml: stages[1].out: expected a positive channel count, got 0");
  EXPECT_EQ(error_of([] { parse_space_text("\n\n", "e.yaml"); }), "e.yaml: file is empty (expected a YAML mapping)");
  EXPECT_EQ(error_of([] { parse_space_text("format: [1, 2\n", "m.yaml"); }).rfind("m.yaml:2:1: malformed YAML: ", 0), 0u);
  // A candidate that cannot work where it is offered: grouped 1x1 over 5 channels.
  const std::string odd = replace(replace(kTinySpace, "[ir_k3_e3, skip]", "[ir_k3_e1_g2, skip]"), "out: 8}", "out: 5}");
  EXPECT_EQ(error_of([&] { parse_space_text(odd, "o.yaml"); }),
            "o.yaml: searchable layer 0 (stage 0) candidate ir_k3_e1_g2 (input 5x16x16): ir_k3_e1_g2: input "
            "channels 5 are not divisible by groups 2");
}

}  // namespace
}  // namespace dnas
