// End-to-end tests of the `dnas` program: what a user types and what they see, including the
// one-line errors and exit code 2 for bad input. DNAS_BINARY is set by CMake.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli_harness.h"

namespace {

using namespace dnas::testing;

TEST(Cli, ArchInfoJsonReportsSqueezeNetParams) {
  const Result r = run("arch info squeezenet1_0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["params"].get<int64_t>(), 1248424);
  EXPECT_TRUE(j["macs"].is_number_integer());
  EXPECT_EQ(j["layers"].size(), 2u + 10u + 3u);
  EXPECT_EQ(j["layers"][0]["op"], "conv_k7");
}

TEST(Cli, ArchInfoTableTotalsForFbnetC) {
  const Result r = run("arch info fbnet_c --input 224");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("params 5,570,664, MACs 378,136,224"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layers[21]"), std::string::npos);
}

TEST(Cli, ArchInfoInputOverrideChangesMacs) {
  const auto at224 = nlohmann::json::parse(run("arch info mobilenet_v2 --json").out);
  const auto at112 = nlohmann::json::parse(run("arch info mobilenet_v2 --input 112 --json").out);
  EXPECT_EQ(at224["params"], at112["params"]);
  EXPECT_LT(at112["macs"].get<int64_t>(), at224["macs"].get<int64_t>() / 3);
}

TEST(Cli, ArchInfoOnASpace) {
  const Result r = run("arch info fbnet --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kind"], "space");
  EXPECT_EQ(j["searchable_layers"], 22);
  EXPECT_EQ(j["space_size"], "984770902183611232881");
  EXPECT_EQ(j["layers"][0]["candidates"].size(), 9u);
  const Result table = run("arch info fbnet");
  EXPECT_NE(table.out.find("22 searchable layers"), std::string::npos) << table.out;
}

TEST(Cli, ArchInfoOnFiles) {
  const fs::path arch = write_temp("dnas_cli_arch.json", R"({"format": "dnas-arch/1", "input_size": 8,
    "num_classes": 3, "layers": [{"op": "shift_k3_e3", "out": 16, "stride": 2}],
    "head": [{"op": "avgpool"}, {"op": "fc"}]})");
  const Result r = run("arch info " + arch.string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The first 1x1 runs at 8x8; the shift strides (free); the second 1x1 runs at 4x4.
  EXPECT_EQ(nlohmann::json::parse(r.out)["layers"][0]["macs"], 3 * 9 * 8 * 8 + 9 * 16 * 4 * 4);
  fs::remove(arch);
}

TEST(Cli, BadInputGivesOneLineAndExitTwo) {
  expect_one_line_error(run("arch info fbnet_z"), "unknown model or space 'fbnet_z'");
  expect_one_line_error(run("arch info /nonexistent/arch.json"), "/nonexistent/arch.json: cannot read file");
  expect_one_line_error(run("arch info fbnet_c --input 0"), "--input: expected a positive size, got 0");
  expect_one_line_error(run("arch info squeezenet1_0 --input 16"), "builtin:models/squeezenet1_0.json: layers[3] (input 256x2x2): maxpool_k3: input 256x2x2 is too small");

  const fs::path bad_op = write_temp("dnas_cli_badop.json",
      R"({"format": "dnas-arch/1", "layers": [{"op": "ir_k3_e7", "out": 8}]})");
  expect_one_line_error(run("arch info " + bad_op.string()), bad_op.string() + ": layers[0].op: unknown op key 'ir_k3_e7'");
  const fs::path malformed = write_temp("dnas_cli_malformed.json", "{\"format\": ");
  expect_one_line_error(run("arch info " + malformed.string()), malformed.string() + ": malformed JSON");
  const fs::path empty = write_temp("dnas_cli_empty.yaml", "");
  expect_one_line_error(run("arch info " + empty.string()), empty.string() + ": file is empty");
  const fs::path unknown_key = write_temp("dnas_cli_key.yaml",
      "format: dnas-space/1\nname: x\ninput_size: 8\ninput_channels: 1\nnum_classes: 2\n"
      "stages: [{out: 8, repeats: 1, stride: 1, candidates: [skip]}]\nhead: [{op: avgpool}, {op: fc}]\nwidth: 2\n");
  expect_one_line_error(run("arch info " + unknown_key.string()), unknown_key.string() + ": width: unknown key");
  for (const auto& p : {bad_op, malformed, empty, unknown_key}) fs::remove(p);

  expect_one_line_error(run("arch info"), "target is required");
  expect_one_line_error(run("arch info fbnet_c --bogus"), "--bogus");
}

// Inputs built to crash or hang a parser or to overflow a count: each is one line and exit 2.
TEST(Cli, HostileInputIsRefusedWithBounds) {
  const fs::path deep = write_temp("dnas_cli_deep.json", std::string(100000, '[') + std::string(100000, ']'));
  expect_one_line_error(run("arch info " + deep.string()), "nested deeper than 64 levels");
  expect_one_line_error(run("export --arch " + deep.string() + " --format json --out /tmp/dnas_cli_never.json"),
                        "nested deeper than 64 levels");
  EXPECT_FALSE(fs::exists("/tmp/dnas_cli_never.json"));
  const fs::path cycle = write_temp("dnas_cli_cycle.yaml", "a: &a [*a]\n");
  expect_one_line_error(run("arch info " + cycle.string()), "an alias refers to the anchor it is inside");
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  const fs::path laughs = write_temp("dnas_cli_laughs.yaml", bomb);
  expect_one_line_error(run("arch info " + laughs.string()), "expand to more than 1000000 nodes");

  // Sizes: each names its limit; an overflowing count is an error, never a negative figure.
  const fs::path wide = write_temp("dnas_cli_wide.json",
      R"({"format": "dnas-arch/1", "layers": [{"op": "conv_k3", "out": 1000000000000}]})");
  expect_one_line_error(run("arch info " + wide.string()), "layers[0].out: 1000000000000 is more than the 65536 accepted");
  const fs::path huge = write_temp("dnas_cli_huge.json",
      R"({"format": "dnas-arch/1", "input_size": 3000000000, "layers": [{"op": "conv_k3", "out": 8}]})");
  expect_one_line_error(run("arch info " + huge.string()), "input_size: 3000000000 is more than the 8192 accepted");
  const fs::path repeats = write_temp("dnas_cli_repeats.yaml",
      "format: dnas-space/1\nname: x\ninput_size: 8\ninput_channels: 1\nnum_classes: 2\n"
      "stages: [{out: 8, repeats: 1000000000, stride: 1, candidates: [skip]}]\nhead: [{op: avgpool}, {op: fc}]\n");
  expect_one_line_error(run("arch info " + repeats.string()), "repeats: 1000000000 is more than the 1000 accepted");
  std::string layers;  // 8192 x 8192 maps of 65,536 channels, 20 times over: past 2^63 MACs
  for (int i = 0; i < 20; ++i) layers += std::string(i ? ", " : "") + R"({"op": "conv_k7", "out": 65536})";
  const fs::path overflow = write_temp("dnas_cli_overflow.json",
      R"({"format": "dnas-arch/1", "input_size": 8192, "input_channels": 65536, "layers": [)" + layers + "]}");
  expect_one_line_error(run("arch info " + overflow.string()), "overflows 64 bits");
  for (const auto& p : {deep, cycle, laughs, wide, huge, repeats, overflow}) fs::remove(p);

  for (const char* data : {"synthetic:99999999999", "synthetic:512:100000", "synthetic:512:32:100000",
                           "synthetic:512:32:3:99999999999", "synthetic:10000000:1024"})
    expect_one_line_error(run(std::string("search --out /tmp/dnas_cli_never --data ") + data), "accepted");
  expect_one_line_error(run("search --out /tmp/dnas_cli_never --data 'synthetic: 512'"), "expected positive integers");
  EXPECT_FALSE(fs::exists("/tmp/dnas_cli_never"));
  expect_one_line_error(run("sample --run /tmp -n 1000000000"), "-n: Value 1000000000 not in range");
}

// Atomic writes rename a finished temporary file over their target, which would turn a device or
// FIFO into a regular file; inputs that are not regular files would block (a FIFO) or never end.
TEST(Cli, SpecialFilesAreNeitherReadNorReplaced) {
  const fs::path dir = fs::temp_directory_path() / ("dnas_cli_special_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::vector<fs::path> specials = {fifo, dir};
  const fs::path device = dir / "full";  // a copy of /dev/full's device node, where mknod is allowed
  if (::mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 7)) == 0) specials.push_back(device);
  for (const fs::path& special : specials) {
    SCOPED_TRACE(special.string());
    const fs::file_type before = fs::status(special).type();
    std::vector<std::string> commands = {"export --arch squeezenet1_1 --format json --out ",
                                         "export --arch squeezenet1_1 --format torchscript --out "};
#ifdef DNAS_WITH_ONNX
    commands.push_back("export --arch squeezenet1_1 --format onnx --out ");
#endif
    for (const std::string& command : commands) {
      const Result r = run(command + special.string());
      EXPECT_EQ(r.exit_code, 2) << command << r.err;
      EXPECT_NE(r.err.find("not a regular file; refusing to replace it"), std::string::npos) << r.err;
      EXPECT_EQ(fs::status(special).type(), before) << command;
    }
    expect_one_line_error(run("arch info " + special.string()), special.string() + ": is a ");
  }
  fs::remove_all(dir);
}

TEST(Cli, HelpTeaches) {
  const Result r = run("arch info --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("dnas arch info squeezenet1_0 --json"), std::string::npos) << r.out;
}

// The names in "(a, b, c)" after `marker` in `text`.
std::vector<std::string> listed_after(const std::string& text, const std::string& marker) {
  const size_t from = text.find(marker);
  if (from == std::string::npos) return {};
  const size_t begin = from + marker.size(), end = text.find_first_of(";)", begin);
  std::vector<std::string> names;
  std::stringstream list(text.substr(begin, end - begin));
  for (std::string name; std::getline(list, name, ',');) names.push_back(name.substr(name.find_first_not_of(' ')));
  return names;
}

bool lists(const std::string& help, const std::string& name) {
  return help.find(name + ",") != std::string::npos || help.find(name + ")") != std::string::npos;
}

// The help texts list every built-in space, model, target and recipe: the lists are built from the
// configs, as the unknown-name errors are, so a new config cannot be missing from one.
TEST(Cli, HelpListsEveryBuiltInConfig) {
  const Result unknown = run("arch info nosuch");
  const auto models = listed_after(unknown.err, "zoo models: "), spaces = listed_after(unknown.err, "spaces: ");
  const auto targets = listed_after(run("profile-latency --target nosuch").err, "known targets: ");
  const auto recipes = listed_after(run("train --arch fbnet_c --recipe nosuch --data synthetic").err, "known recipes: ");
  ASSERT_GE(models.size(), 7u) << unknown.err;
  ASSERT_GE(spaces.size(), 5u) << unknown.err;
  ASSERT_GE(targets.size(), 6u);
  ASSERT_GE(recipes.size(), 4u);
  const std::string arch_help = run("arch info --help").out, profile_help = run("profile-latency --help").out,
                    search_help = run("search --help").out, train_help = run("train --help").out;
  for (const auto& m : models) EXPECT_TRUE(lists(arch_help, m)) << m << " missing from arch info --help";
  for (const auto& s : spaces) {
    EXPECT_TRUE(lists(arch_help, s)) << s << " missing from arch info --help";
    EXPECT_TRUE(lists(profile_help, s)) << s << " missing from profile-latency --help";
    EXPECT_TRUE(lists(search_help, s)) << s << " missing from search --help";
  }
  for (const auto& t : targets) EXPECT_TRUE(lists(profile_help, t)) << t << " missing from profile-latency --help";
  for (const auto& r : recipes) EXPECT_TRUE(lists(train_help, r)) << r << " missing from train --help";
}

// The benchmarks' own contracts: a parsable report with positive figures, and one-line errors.
TEST(CliBench, ShiftVerifiesThenTimesEveryMapInBothLayouts) {
  const Result r = run("bench shift --batch 2 --repeats 1 --rounds 1 --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["verified_equal"].get<bool>());
  ASSERT_EQ(j["cases"].size(), 8u);
  for (const auto& c : j["cases"]) {
    for (const char* key : {"kernel_forward_us", "slicing_forward_us", "kernel_forward_backward_us", "slicing_forward_backward_us"})
      EXPECT_GT(c[key].get<double>(), 0.0) << key;
  }
  EXPECT_GT(j["forward_backward_speedup_geomean"].get<double>(), 0.0);
  expect_one_line_error(run("bench shift --device tpu"), "--device");
  expect_one_line_error(run("bench shift --rounds 0"), "--rounds");
}

TEST(CliBench, SearchStepReportsTheSupernetAndItsSpeed) {
  const std::string args = "bench search-step --space small --input 28 --channels 1 --batch 4 --steps 1 --warmup 0 --json";
  const Result r = run(args + " --mode hard --weight-sharing separate");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["params"].get<int64_t>(), 537810);  // the same supernet bench/search_step.py builds
  EXPECT_EQ(j["weight_sharing"], "separate");
  EXPECT_GT(j["w_images_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["theta_images_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["peak_step_tensor_bytes"].get<int64_t>(), 0);
  expect_one_line_error(run("bench search-step --mode medium"), "--mode: expected soft or hard");
  // Hard mode shares the candidates' conv weights by default: fewer parameters, the same blocks.
  const Result nested = run(args + " --mode hard");
  ASSERT_EQ(nested.exit_code, 0) << nested.err;
  const auto n = nlohmann::json::parse(nested.out);
  EXPECT_EQ(n["weight_sharing"], "nested");
  EXPECT_EQ(n["params"].get<int64_t>(), 198930);
  expect_one_line_error(run(args + " --weight-sharing some"), "--weight-sharing: expected auto, separate or nested");
}

}  // namespace
