// Peer latency tables (latency_lut/peer_import.h): the hand-written ProxylessNAS YAML and
// HW-NAS-Bench JSON / CSV in tests/data/peer map onto exact canonical keys and microseconds, the
// mappings round-trip, unmappable keys are listed and block the whole import, and malformed text is
// refused naming the file and the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "latency_lut/block_enumeration.h"
#include "latency_lut/peer_import.h"
#include "ops/registry.h"
#include "supernet/config_store.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

using namespace dnas::testing;

std::string fixture(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(__FILE__).parent_path() / "data" / "peer" / name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// peer key -> (canonical key, microseconds)
std::map<std::string, std::pair<std::string, double>> by_peer_key(const PeerTable& table) {
  std::map<std::string, std::pair<std::string, double>> out;
  for (const PeerRow& row : table.rows) out[row.peer_key] = {row.key.str(), row.mean_us};
  return out;
}

std::string reason_for(const PeerTable& table, const std::string& peer_key) {
  for (const UnmappableKey& u : table.unmappable)
    if (u.peer_key == peer_key) return u.reason;
  return "<mapped or absent>";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PeerImport, FormatNames) {
  EXPECT_EQ(parse_peer_format("proxyless", "--format"), PeerFormat::kProxyless);
  EXPECT_EQ(parse_peer_format("hw-nas-bench", "--format"), PeerFormat::kHwNasBench);
  EXPECT_STREQ(peer_format_name(PeerFormat::kHwNasBench), "hw-nas-bench");
  EXPECT_EQ(error_of([] { parse_peer_format("ofa", "--format"); }),
            "--format: unknown peer table format 'ofa' (expected proxyless or hw-nas-bench)");
}

TEST(PeerImport, ProxylessYamlMapsToRelu6InvertedResiduals) {
  const PeerTable table = read_peer_table(fixture("proxyless_mobile.yaml"), PeerFormat::kProxyless, "mobile.yaml");
  EXPECT_TRUE(table.unmappable.empty());
  const std::map<std::string, std::pair<std::string, double>> expected = {
      {"expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0",
       {"ir_k3_e1{act=relu6,pw=0}|in=1x32x112x112|out=16|s=1|fp32|nchw", 1500}},
      {"expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:5-stride:2-idskip:0",
       {"ir_k5_e3{act=relu6}|in=1x16x112x112|out=24|s=2|fp32|nchw", 2250}},
      {"expanded_conv-input:56x56x24-output:56x56x24-expand:6-kernel:3-stride:1-idskip:1",
       {"ir_k3_e6{act=relu6}|in=1x24x56x56|out=24|s=1|fp32|nchw", 750}},
      {"expanded_conv-input:14x14x80-output:7x7x192-expand:6-kernel:5-stride:2-idskip:0",
       {"ir_k5_e6{act=relu6}|in=1x80x14x14|out=192|s=2|fp32|nchw", 500}},
  };
  EXPECT_EQ(by_peer_key(table), expected);
  // std and count as given; a bare mean has std 0 and one repeat.
  std::map<std::string, std::pair<double, int64_t>> spread;
  for (const PeerRow& row : table.rows) spread[row.key.str()] = {row.std_us, row.repeats};
  const std::map<std::string, std::pair<double, int64_t>> expected_spread = {
      {"ir_k3_e1{act=relu6,pw=0}|in=1x32x112x112|out=16|s=1|fp32|nchw", {100, 1}},
      {"ir_k5_e3{act=relu6}|in=1x16x112x112|out=24|s=2|fp32|nchw", {50, 1}},
      {"ir_k3_e6{act=relu6}|in=1x24x56x56|out=24|s=1|fp32|nchw", {0, 1}},
      {"ir_k5_e6{act=relu6}|in=1x80x14x14|out=192|s=2|fp32|nchw", {0, 100}}};
  EXPECT_EQ(spread, expected_spread);
  // The caller's settings label the rows.
  const PeerTable nhwc =
      read_peer_table(fixture("proxyless_mobile.yaml"), PeerFormat::kProxyless, "mobile.yaml", {1, "fp32", "nhwc"});
  EXPECT_EQ(nhwc.rows.front().key.memory_format, "nhwc");
}

TEST(PeerImport, HwNasBenchJsonAndCsvMapToTheFbnetBlocks) {
  const std::map<std::string, std::pair<std::string, double>> expected = {
      {"ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1",
       {"ir_k3_e1|in=1x16x112x112|out=16|s=1|fp32|nchw", 1250}},
      {"ConvBlock_H112_W112_Cin16_Cout24_exp1_kernel5_stride2_group2",
       {"ir_k5_e1_g2|in=1x16x112x112|out=24|s=2|fp32|nchw", 875}},
      {"ConvBlock_H56_W56_Cin24_Cout24_exp6_kernel5_stride1_group1",
       {"ir_k5_e6|in=1x24x56x56|out=24|s=1|fp32|nchw", 3500}},
      {"Skip_H112_W112_Cin16_Cout24_stride2", {"skip|in=1x16x112x112|out=24|s=2|fp32|nchw", 400}},
      {"Skip_H56_W56_Cin24_Cout24_stride1", {"skip|in=1x24x56x56|out=24|s=1|fp32|nchw", 2}},
      {"AvgP_H7_W7_Cin1504_Cout1504_kernel7_stride1", {"avgpool|in=1x1504x7x7|out=1504|s=1|fp32|nchw", 20}},
      {"FC_Cin1504_Cout1000", {"fc|in=1x1504x1x1|out=1000|s=1|fp32|nchw", 300}},
  };
  for (const char* name : {"hw_nas_bench.json", "hw_nas_bench.csv"}) {
    const PeerTable table = read_peer_table(fixture(name), PeerFormat::kHwNasBench, name);
    EXPECT_TRUE(table.unmappable.empty()) << name;
    const auto mapped = by_peer_key(table);
    ASSERT_EQ(mapped.size(), expected.size()) << name;
    for (const auto& [peer_key, want] : expected) {
      ASSERT_EQ(mapped.count(peer_key), 1u) << name << " " << peer_key;
      EXPECT_EQ(mapped.at(peer_key).first, want.first) << name;
      EXPECT_DOUBLE_EQ(mapped.at(peer_key).second, want.second) << name << " " << peer_key;
    }
    for (const PeerRow& row : table.rows) {
      EXPECT_EQ(row.std_us, 0);
      EXPECT_EQ(row.repeats, 1);
    }
  }
  // CSV keeps the file's order.
  const PeerTable csv = read_peer_table(fixture("hw_nas_bench.csv"), PeerFormat::kHwNasBench, "t.csv");
  EXPECT_EQ(csv.rows.front().peer_key, "ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1");
  EXPECT_EQ(csv.rows.back().peer_key, "FC_Cin1504_Cout1000");
}

TEST(PeerImport, MappingsRoundTripOnKnownKeys) {
  for (const auto& [name, format] : {std::pair{"proxyless_mobile.yaml", PeerFormat::kProxyless},
                                     std::pair{"hw_nas_bench.json", PeerFormat::kHwNasBench},
                                     std::pair{"hw_nas_bench.csv", PeerFormat::kHwNasBench}}) {
    const PeerTable table = read_peer_table(fixture(name), format, name, {4, "fp16", "nhwc"});
    ASSERT_FALSE(table.rows.empty()) << name;
    for (const PeerRow& row : table.rows) {
      EXPECT_EQ(row.key.batch, 4);
      EXPECT_EQ(peer_key_for(row.key, format), row.peer_key) << name;
    }
  }
  // Every block of dnas's FBNet space but the stem and head convs has its HW-NAS-Bench key (the
  // benchmark's FBNet space is the same space), and that key maps back to the block.
  const auto blocks = enumerate_space_blocks(resolve_space(load_space("fbnet")), {});
  ASSERT_EQ(blocks.size(), 112u);
  size_t spelled = 0;
  for (const BlockToTime& block : blocks) {
    const std::optional<std::string> peer_key = peer_key_for(block.key, PeerFormat::kHwNasBench);
    if (block.op->family == "conv") {
      EXPECT_EQ(peer_key, std::nullopt) << block.key.str();
      continue;
    }
    ASSERT_TRUE(peer_key.has_value()) << block.key.str();
    ++spelled;
    const PeerTable back = read_peer_table("{\"" + *peer_key + "\": 1}", PeerFormat::kHwNasBench, "t.json");
    ASSERT_EQ(back.rows.size(), 1u) << *peer_key;
    EXPECT_EQ(back.rows[0].key.str(), block.key.str());
    // FBNet's blocks are ReLU blocks with the e=1 expansion conv: not ProxylessNAS's.
    EXPECT_EQ(peer_key_for(block.key, PeerFormat::kProxyless), std::nullopt) << block.key.str();
  }
  EXPECT_EQ(spelled, 110u);
  EXPECT_EQ(peer_key_for(parse_lut_key("skip|in=1x16x112x112|out=24|s=2|fp32|nchw", "k"), PeerFormat::kHwNasBench),
            "Skip_H112_W112_Cin16_Cout24_stride2");

  // A block computing something else than the peer's has no spelling, even with the same op.
  for (const char* key : {"ir_k3_e6{act=relu6}|in=1x24x56x56|out=24|s=1|fp32|nchw",  // ReLU6
                          "ir_k3_e1{pw=0}|in=1x16x56x56|out=16|s=1|fp32|nchw",       // no expansion conv
                          "ir_k3_e6_se|in=1x24x56x56|out=24|s=1|fp32|nchw",          // squeeze-excitation
                          "conv_k3|in=1x3x224x224|out=16|s=2|fp32|nchw",
                          "avgpool|in=1x1504x7x8|out=1504|s=1|fp32|nchw",            // kernel would be 7x8
                          "shift_k3_e3|in=1x24x56x56|out=24|s=1|fp32|nchw"})
    EXPECT_EQ(peer_key_for(parse_lut_key(key, "k"), PeerFormat::kHwNasBench), std::nullopt) << key;
  for (const char* key : {"ir_k3_e6|in=1x24x56x56|out=24|s=1|fp32|nchw",               // ReLU
                          "ir_k3_e1{act=relu6}|in=1x32x112x112|out=16|s=1|fp32|nchw",  // keeps the 1x1 conv
                          "ir_k3_e1_g2|in=1x16x112x112|out=16|s=1|fp32|nchw",
                          "skip|in=1x16x112x112|out=16|s=1|fp32|nchw"})
    EXPECT_EQ(peer_key_for(parse_lut_key(key, "k"), PeerFormat::kProxyless), std::nullopt) << key;
  EXPECT_EQ(peer_key_for(parse_lut_key("ir_k5_e1{act=relu6,pw=0}|in=1x16x28x28|out=16|s=1|fp32|nchw", "k"),
                         PeerFormat::kProxyless),
            "expanded_conv-input:28x28x16-output:28x28x16-expand:1-kernel:5-stride:1-idskip:1");
}

TEST(PeerImport, UnmappableKeysAreListedWithTheirReasons) {
  const std::string proxyless =
      "Conv-input:224x224x3-output:112x112x32: {mean: 1.0, std: 0.1}\n"
      "Conv_1-input:7x7x320-output:7x7x1280: 1.0\n"
      "Logits-input:7x7x1280-output:1000: 1.0\n"
      "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:7-stride:1-idskip:1: 1.0\n"
      "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:0: 1.0\n"
      "expanded_conv-input:28x28x40-output:14x14x80-expand:3-kernel:5-stride:2-idskip:1: 1.0\n"
      "expanded_conv-input:28x28x40-output:28x28x80-expand:3-kernel:5-stride:2-idskip:0: 1.0\n"
      "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:1-se:0-hs:0: 1.0\n"
      "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:1: 1.0\n";
  const PeerTable p = read_peer_table(proxyless, PeerFormat::kProxyless, "p.yaml");
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0].key.str(), "ir_k5_e3{act=relu6}|in=1x40x28x28|out=40|s=1|fp32|nchw");
  EXPECT_EQ(p.unmappable.size(), 8u);
  EXPECT_TRUE(contains(reason_for(p, "Conv-input:224x224x3-output:112x112x32"), "does not give its kernel"));
  EXPECT_TRUE(contains(reason_for(p, "Logits-input:7x7x1280-output:1000"), "classifier"));
  EXPECT_EQ(reason_for(p, "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:7-stride:1-idskip:1"),
            "kernel 7, expand 3: dnas's inverted residuals are ir_k{3,5}_e{1,3,6}");
  EXPECT_EQ(reason_for(p, "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:0"),
            "it has no residual, but dnas's ir_k5_e3 adds one at stride 1 with as many output channels as input");
  EXPECT_TRUE(contains(
      reason_for(p, "expanded_conv-input:28x28x40-output:14x14x80-expand:3-kernel:5-stride:2-idskip:1"),
      "adds a residual"));
  EXPECT_EQ(reason_for(p, "expanded_conv-input:28x28x40-output:28x28x80-expand:3-kernel:5-stride:2-idskip:0"),
            "its output 28x28x80 is not what the block computes (ir_k5_e3 gives 14x14x80)");
  EXPECT_TRUE(contains(
      reason_for(p, "expanded_conv-input:28x28x40-output:28x28x40-expand:3-kernel:5-stride:1-idskip:1-se:0-hs:0"),
      "expected expanded_conv-input:"));

  const std::string bench =
      "key,ms\n"
      "ConvNorm_H224_W224_Cin3_Cout16_kernel3_stride2_group1,1\n"
      "ConvBlock_H56_W56_Cin24_Cout24_exp6_kernel3_stride1_group2,1\n"
      "ConvBlock_H56_W56_Cin24_Cout24_exp1_kernel7_stride1_group1,1\n"
      "ConvBlock_H56_W56_Cin15_Cout24_exp1_kernel3_stride1_group2,1\n"
      "ConvBlock_H56_W56_Cin24_Cout24_exp_1kernel3_stride1_group1,1\n"
      "AvgP_H7_W7_Cin1984_Cout1984_kernel3_stride1,1\n"
      "Skip_H56_W56_Cin24_Cout32_stride3,1\n"
      "Conv_H56_W56,1\n"
      "Skip_H56_W56_Cin24_Cout32_stride2,1\n";
  const PeerTable b = read_peer_table(bench, PeerFormat::kHwNasBench, "b.csv");
  ASSERT_EQ(b.rows.size(), 1u);
  EXPECT_EQ(b.unmappable.size(), 8u);
  EXPECT_TRUE(contains(reason_for(b, "ConvNorm_H224_W224_Cin3_Cout16_kernel3_stride2_group1"), "which one was timed"));
  EXPECT_EQ(reason_for(b, "ConvBlock_H56_W56_Cin24_Cout24_exp6_kernel3_stride1_group2"),
            "group 2 at exp 6: dnas groups only the e=1 blocks, in 2");
  EXPECT_TRUE(contains(reason_for(b, "ConvBlock_H56_W56_Cin24_Cout24_exp1_kernel7_stride1_group1"), "kernel 7"));
  EXPECT_EQ(reason_for(b, "ConvBlock_H56_W56_Cin15_Cout24_exp1_kernel3_stride1_group2"),
            "ir_k3_e1_g2: input channels 15 are not divisible by groups 2");
  EXPECT_TRUE(
      contains(reason_for(b, "ConvBlock_H56_W56_Cin24_Cout24_exp_1kernel3_stride1_group1"), "expected ConvBlock_H"));
  EXPECT_TRUE(contains(reason_for(b, "AvgP_H7_W7_Cin1984_Cout1984_kernel3_stride1"), "not a global pool"));
  EXPECT_EQ(reason_for(b, "Skip_H56_W56_Cin24_Cout32_stride3"), "skip: expected stride 1 or 2, got 3");
  EXPECT_TRUE(contains(reason_for(b, "Conv_H56_W56"), "unknown layer type 'Conv'"));
}

TEST(PeerImport, AnUnmappableKeyBlocksTheWholeImport) {
  TempDir dir;
  LutStore store(dir.file("t.db"), OpenMode::kCreate);
  const PeerTable table = read_peer_table(
      "{\"Skip_H56_W56_Cin24_Cout32_stride2\": 0.5, \"ConvNorm_H7_W7_Cin352_Cout1984_kernel1_stride1_group1\": 2}",
      PeerFormat::kHwNasBench, "raspi4.json");
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(error_of([&] { import_peer_table(store, table, PeerFormat::kHwNasBench, "raspi4", "raspi4.json"); }),
            "raspi4.json: 1 of 2 keys have no dnas block, so nothing was imported: "
            "'ConvNorm_H7_W7_Cin352_Cout1984_kernel1_stride1_group1' (" + table.unmappable[0].reason +
                "). Remove those entries from the file to import the rest.");
  EXPECT_TRUE(store.measurements().empty());
  EXPECT_TRUE(store.runs().empty());
  EXPECT_TRUE(store.targets().empty());

  // A long list names the first 20 and counts the rest.
  std::string many = "{\"FC_Cin1504_Cout1000\": 0.3";
  for (int i = 0; i < 25; ++i) many += ",\"Mystery_" + std::to_string(i) + "\": 1";
  const PeerTable crowded = read_peer_table(many + "}", PeerFormat::kHwNasBench, "m.json");
  const std::string message =
      error_of([&] { import_peer_table(store, crowded, PeerFormat::kHwNasBench, "raspi4", "m.json"); });
  EXPECT_EQ(message.rfind("m.json: 25 of 26 keys have no dnas block", 0), 0u) << message;
  EXPECT_TRUE(contains(message, "; and 5 more. Remove")) << message;
  EXPECT_TRUE(store.measurements().empty());
}

TEST(PeerImport, ImportWritesOneRunOfRows) {
  TempDir dir;
  LutStore store(dir.file("t.db"), OpenMode::kCreate);
  const PeerTable table = read_peer_table(fixture("proxyless_mobile.yaml"), PeerFormat::kProxyless, "mobile.yaml",
                                          {1, "fp32", "nhwc"});
  const ImportSummary summary = import_peer_table(store, table, PeerFormat::kProxyless, "pixel1", "mobile.yaml");
  EXPECT_EQ(summary.runs, 1u);
  EXPECT_EQ(summary.measurements, 4u);
  const std::vector<RunRecord> runs = store.runs("pixel1");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].source, "import:proxyless");
  EXPECT_EQ(runs[0].host, "mobile.yaml");
  EXPECT_EQ(runs[0].settings.memory_format, "nhwc");
  EXPECT_FALSE(runs[0].started_at.empty());
  const std::vector<MeasurementRow> rows = store.measurements("pixel1");
  ASSERT_EQ(rows.size(), 4u);
  std::map<std::string, MeasurementRow> by_key;
  for (const MeasurementRow& m : rows) {
    EXPECT_EQ(m.run_id, runs[0].id);
    by_key[m.key.str()] = m;
  }
  const MeasurementRow& first = by_key.at("ir_k3_e1{act=relu6,pw=0}|in=1x32x112x112|out=16|s=1|fp32|nhwc");
  EXPECT_DOUBLE_EQ(first.stats.median_us, 1500);
  EXPECT_DOUBLE_EQ(first.stats.p10_us, 1500);
  EXPECT_DOUBLE_EQ(first.stats.p90_us, 1500);
  EXPECT_DOUBLE_EQ(first.stats.mean_us, 1500);
  EXPECT_DOUBLE_EQ(first.stats.std_us, 100);
  EXPECT_EQ(first.stats.repeats, 1);
  EXPECT_EQ(by_key.at("ir_k5_e6{act=relu6}|in=1x80x14x14|out=192|s=2|fp32|nhwc").stats.repeats, 100);
  EXPECT_EQ(store.medians("pixel1", {1, "fp32", "nhwc"}).at("ir_k5_e3{act=relu6}|in=1x16x112x112|out=24|s=2|fp32|nhwc"),
            2250);

  // HW-NAS-Bench into a second target of the same file.
  const PeerTable bench = read_peer_table(fixture("hw_nas_bench.csv"), PeerFormat::kHwNasBench, "raspi4.csv");
  EXPECT_EQ(import_peer_table(store, bench, PeerFormat::kHwNasBench, "raspi4", "raspi4.csv").measurements, 7u);
  EXPECT_EQ(store.runs("raspi4").at(0).source, "import:hw-nas-bench");
  EXPECT_EQ(store.measurements("raspi4").size(), 7u);
  EXPECT_EQ(store.measurements("pixel1").size(), 4u);

  EXPECT_EQ(error_of([&] { import_peer_table(store, PeerTable{}, PeerFormat::kProxyless, "x", "e.yaml"); }),
            "e.yaml: no latencies to import");
}

TEST(PeerImport, MalformedTextNamesTheFileAndKey) {
  const auto proxyless_error = [](const std::string& text) {
    return error_of([&] { read_peer_table(text, PeerFormat::kProxyless, "p.yaml"); });
  };
  const std::string key = "expanded_conv-input:56x56x24-output:56x56x24-expand:6-kernel:3-stride:1-idskip:1";
  const std::string positive = ": expected a latency in milliseconds (a positive number, at most an hour: 3.6e6), got ";
  EXPECT_EQ(proxyless_error(key + ": -0.5\n"), "p.yaml: " + key + positive + "-0.5");
  EXPECT_EQ(proxyless_error(key + ": {mean: nan}\n"), "p.yaml: " + key + ".mean" + positive + "nan");
  EXPECT_EQ(proxyless_error(key + ": {mean: 0}\n"), "p.yaml: " + key + ".mean" + positive + "0");
  EXPECT_EQ(proxyless_error(key + ": {mean: 5e6}\n"), "p.yaml: " + key + ".mean" + positive + "5e+06");
  EXPECT_EQ(proxyless_error(key + ": {mean: 1, std: -1}\n"),
            "p.yaml: " + key + ".std: expected a finite number of milliseconds >= 0, got -1");
  EXPECT_EQ(proxyless_error(key + ": {mean: 1, count: 0}\n"),
            "p.yaml: " + key + ".count: expected a number of timed runs >= 1, got 0");
  EXPECT_EQ(proxyless_error(key + ": {mean: 1, median: 1}\n"),
            "p.yaml: " + key + ".median: unknown key (allowed here: count, mean, std)");
  EXPECT_EQ(proxyless_error(key + ": {std: 1}\n"),
            "p.yaml: " + key + ".mean: missing required key (expected a number)");
  EXPECT_EQ(proxyless_error(key + ": fast\n"),
            "p.yaml: " + key + ": expected a latency in milliseconds or {mean: ms, std: ms}, got \"fast\"");
  EXPECT_EQ(proxyless_error(key + ": [1, 2]\n"),
            "p.yaml: " + key + ": expected a latency in milliseconds or {mean: ms, std: ms}, got [1,2]");
  EXPECT_EQ(proxyless_error(key + ": 1\n" + key + ": 2\n"), "p.yaml:2: duplicate key '" + key + "'");
  EXPECT_EQ(proxyless_error("- 1\n"), "p.yaml: expected a YAML mapping at the top level");
  // A bad value is refused even where the key would not map.
  EXPECT_EQ(proxyless_error("Logits-input:7x7x1280-output:1000: -1\n"),
            "p.yaml: Logits-input:7x7x1280-output:1000" + positive + "-1");

  const auto bench_error = [](const std::string& text) {
    return error_of([&] { read_peer_table(text, PeerFormat::kHwNasBench, "b"); });
  };
  const std::string skip = "Skip_H56_W56_Cin24_Cout24_stride1";
  EXPECT_EQ(bench_error("{\"" + skip + "\": -1}"), "b: " + skip + positive + "-1");
  EXPECT_EQ(bench_error("{\"" + skip + "\": \"1.5\"}"),
            "b: " + skip + ": expected a latency in milliseconds, got \"1.5\"");
  EXPECT_EQ(bench_error("{\"" + skip + "\": null}"), "b: " + skip + ": expected a latency in milliseconds, got null");
  EXPECT_TRUE(contains(bench_error("{\"raspi4_latency\": {\"" + skip + "\": 1}}"),
                       "b: raspi4_latency: expected a latency in milliseconds, got an object (export one table"));
  EXPECT_EQ(bench_error("{\"" + skip + "\": 1, \"" + skip + "\": 2}"), "b: " + skip + ": appears twice");
  EXPECT_TRUE(contains(bench_error("{\"" + skip + "\": 1,}"), "b: malformed JSON"));
  EXPECT_EQ(bench_error("key,ms\n" + skip + ",nan\n"), "b:2: " + skip + positive + "nan");
  EXPECT_EQ(bench_error("key,ms\n" + skip + ",1.5ms\n"),
            "b:2: " + skip + ": expected a latency in milliseconds, got '1.5ms'");
  EXPECT_EQ(bench_error("key,ms\n" + skip + ",1,2\n"), "b:2: expected two fields '<key>,<ms>', got 3");
  EXPECT_EQ(bench_error("key,ms\n" + skip + ",1\r\n\r\n" + skip + ",2\r\n"),
            "b:4: " + skip + ": appears twice (first on line 2)");
  EXPECT_EQ(bench_error("key,latency\n" + skip + ",1\n"),
            "b:1: expected the header line 'key,ms' (or a JSON object), got 'key,latency'");
  EXPECT_EQ(bench_error(" \n"),
            "b: file is empty (expected a JSON object {\"<key>\": ms, ...} or CSV with the header 'key,ms')");
  EXPECT_EQ(bench_error("[1]"), "b:1: expected the header line 'key,ms' (or a JSON object), got '[1]'");
  EXPECT_EQ(error_of([] { read_peer_table("{}", PeerFormat::kHwNasBench, "b", {1, "fp64", "nchw"}); }),
            "b: expected dtype fp32, fp16 or bf16, got 'fp64'");
}

}  // namespace
}  // namespace dnas
