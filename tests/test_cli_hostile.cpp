// A generated hostile-input suite for the whole CLI: a few hundred cases (out-of-range and
// malformed flag values for every command, crafted and special files wherever a command reads or
// writes one), each run in a scratch directory. Every case must give exit 2, at most 3 lines on
// stderr, no LibTorch trace, no hang (10 s), and leave nothing new behind.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "tests/cli_harness.h"

namespace {

using namespace dnas::testing;

struct Case {
  std::string args;  // {in} is a crafted input file, {out} an output path, both in the scratch directory
};

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.insert(entry.path().string());
  return names;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Crafted inputs: each is refused wherever an arch, a space, a config or a table is read.
std::vector<std::pair<std::string, std::string>> crafted_files() {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  return {
      {"deep.json", std::string(50000, '[') + std::string(50000, ']')},
      {"deep.yaml", std::string(50000, '[') + std::string(50000, ']')},
      {"cycle.yaml", "a: &a [*a]\n"},
      {"bomb.yaml", bomb},
      {"empty.json", ""},
      {"junk.json", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)},
      {"nul.json", std::string("{\"format\": \"dnas-arch/1\"\0}", 26)},
      {"utf8.yaml", "name: \xff\xfe\n"},
      {"truncated.json", "{\"format\": \"dnas-arch/1\", \"layers\": [{\"op\": "},
      {"null.json", "null"},
      {"list.yaml", "- 1\n- 2\n"},
      {"huge.json", R"({"format": "dnas-arch/1", "input_size": 1e300, "layers": [{"op": "conv_k3", "out": 8}]})"},
      {"negative.json", R"({"format": "dnas-arch/1", "layers": [{"op": "conv_k3", "out": -8}]})"},
      {"wide.json", R"({"format": "dnas-arch/1", "layers": [{"op": "conv_k3", "out": 1000000000000}]})"},
      {"overflow.json", R"({"format": "dnas-arch/1", "input_size": 7e77000})"},  // found by fuzz_arch
      {"listkey.yaml", "format: dnas-space/1\n? [a, b]\n: 1\n"},                  // found by fuzz_space
  };
}

// The cases of one group (ctest runs the groups side by side).
enum class Group { kCraftedFiles, kSpecialPaths, kFlagValues };

std::vector<Case> cases(Group group) {
  std::vector<Case> out;
  // Every reader of a file, given each crafted file and each special path.
  const std::vector<std::string> readers = {
      "arch info {in}",
      "export --arch {in} --format torchscript --out {out}",
      "lut import --in {in} --db {out}",
      "lut import --in {in} --format csv --db {out}",
      "search --space {in} --data synthetic:64 --out {out}",
      "search --config {in} --data synthetic:64 --out {out}",
      "search --recipe {in} --data synthetic:64 --out {out}",
      "train --arch {in} --data synthetic:64 --epochs 1 --out {out}",
      "train --config {in} --arch squeezenet1_1 --data synthetic:64 --out {out}",
      "train --recipe {in} --arch squeezenet1_1 --data synthetic:64 --out {out}",
      "profile-latency --space {in} --target host-cpu --dry-run --db {out}",
      "bench net --model {in} --repeats 1",
      "lut list --db {in}",
      "sample --run {in}",
  };
  if (group == Group::kCraftedFiles) {
    for (const std::string& reader : readers)
      for (const auto& [name, text] : crafted_files()) out.push_back({replace_all(reader, "{in}", "{dir}/" + name)});
    return out;
  }
  if (group == Group::kSpecialPaths) {
    for (const std::string& reader : readers)
      for (const char* special : {"{dir}/fifo", "{dir}/folder", "/dev/null", "{dir}/missing.json"})
        out.push_back({replace_all(reader, "{in}", special)});
    // Every writer, pointed at what is not a regular file.
    for (const char* writer : {"export --arch squeezenet1_1 --format json --out ", "lut export --db {dir}/missing.db --out ",
                               "bench search-step --space small --steps 1 --profile "})
      for (const char* special : {"{dir}/fifo", "{dir}/folder", "/dev/full"}) out.push_back({writer + std::string(special)});
    // A real TorchScript model, run on an input it cannot take: the interpreter's two tracebacks
    // become one line.
    out.push_back({"bench net --model {dir}/model.pt --input-shape 7x32x32 --repeats 1"});
    for (const char* data : {"synthetic:0", "synthetic:-5", "synthetic: 512", "synthetic:99999999999", "synthetic:64:100000",
                             "synthetic:64:32:100000", "synthetic:64:32:3:99999999999", "synthetic:64:32:3:1",
                             "synthetic:a:b", "nope:x", "mnist:{dir}/folder", "folder:{dir}/missing"})
      out.push_back({"search --out {out} --data " + std::string(data)});
    return out;
  }
  // Flag values out of range or malformed, for every command's numbers.
  const std::vector<std::string> bad_numbers = {"-1", "nan", "inf", "1e308", "99999999999999999999", "abc", "''"};
  const std::vector<std::string> flags = {
      "search --data synthetic:64 --out {out} --epochs", "search --data synthetic:64 --out {out} --batch-size",
      "search --data synthetic:64 --out {out} --threads", "search --data synthetic:64 --out {out} --lr-w",
      "search --data synthetic:64 --out {out} --tau0", "search --data synthetic:64 --out {out} --tau-decay",
      "search --data synthetic:64 --out {out} --latency-target-ms", "search --data synthetic:64 --out {out} --latency-penalty",
      "search --data synthetic:64 --out {out} --samples", "search --data synthetic:64 --out {out} --momentum",
      "search --data synthetic:64 --out {out} --w-fraction", "search --data synthetic:64 --out {out} --max-samples",
      "train --arch squeezenet1_1 --data synthetic:64 --out {out} --epochs",
      "train --arch squeezenet1_1 --data synthetic:64 --out {out} --batch-size",
      "train --arch squeezenet1_1 --data synthetic:64 --out {out} --weight-decay",
      "train --arch squeezenet1_1 --data synthetic:64 --out {out} --threads",
      "profile-latency --space small --target host-cpu --dry-run --db {out} --repeats",
      "profile-latency --space small --target host-cpu --dry-run --db {out} --threads",
      "profile-latency --space small --target host-cpu --dry-run --db {out} --input",
      "arch info squeezenet1_1 --input", "bench net --arch squeezenet1_1 --repeats",
      "bench net --arch squeezenet1_1 --threads", "sample --run {dir}/folder -n",
      "bench loader --data synthetic:64 --image-size", "bench loader --data synthetic:64 --crop-scale-min",
      "eval --arch squeezenet1_1 --weights {dir}/x.pt --data synthetic:64 --eval-resize-ratio",
  };
  for (const std::string& flag : flags)
    for (const std::string& value : bad_numbers) out.push_back({flag + " " + value});
  for (const char* device : {"bogus", "cuda:x", "''"}) {
    out.push_back({"search --data synthetic:64 --out {out} --device " + std::string(device)});
    out.push_back({"train --arch squeezenet1_1 --data synthetic:64 --out {out} --device " + std::string(device)});
  }
  return out;
}

// Runs one group in a scratch directory holding the crafted files, a FIFO and a folder.
void expect_all_refused(Group group, size_t at_least) {
  const fs::path dir = fs::temp_directory_path() /
                       ("dnas_hostile_" + std::to_string(::getpid()) + "_" + std::to_string(static_cast<int>(group)));
  fs::remove_all(dir);
  fs::create_directories(dir / "folder");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  for (const auto& [name, text] : crafted_files()) std::ofstream(dir / name, std::ios::binary) << text;
  if (group == Group::kSpecialPaths) {
    ASSERT_EQ(run("export --arch squeezenet1_1 --format torchscript --out " + (dir / "model.pt").string()).exit_code, 0);
  }
  const std::set<std::string> before = listing(dir);
  const std::vector<Case> all = cases(group);
  const auto start = std::chrono::steady_clock::now();
  int failures = 0;
  for (const Case& c : all) {
    const std::string args = replace_all(replace_all(c.args, "{out}", (dir / "out").string()), "{dir}", dir.string());
    const Result r = run(args, dir, /*timeout_s=*/10);
    const size_t lines = static_cast<size_t>(std::count(r.err.begin(), r.err.end(), '\n'));
    const std::set<std::string> after = listing(dir);
    const bool ok = r.exit_code == 2 && lines >= 1 && lines <= 3 && r.err.find("frame #") == std::string::npos &&
                    r.err.find("internal error") == std::string::npos && after == before;
    if (!ok && ++failures <= 40)
      ADD_FAILURE() << "dnas " << args << "\n  exit " << r.exit_code << ", " << lines << " stderr lines: "
                    << r.err.substr(0, 400) << (after == before ? "" : "\n  and it left files behind");
    for (const std::string& path : after)  // clean up, so that one failure does not fail every later case
      if (!before.count(path)) fs::remove_all(path);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << all.size() << " hostile cases in " << seconds << " s, " << failures << " failed\n";
  EXPECT_EQ(failures, 0);
  EXPECT_GE(all.size(), at_least);
  fs::remove_all(dir);
}

TEST(CliHostile, CraftedFilesAreRefusedByEveryReader) { expect_all_refused(Group::kCraftedFiles, 190); }
TEST(CliHostile, SpecialPathsAndBadDataSpecsAreRefused) { expect_all_refused(Group::kSpecialPaths, 65); }
TEST(CliHostile, BadFlagValuesAreRefusedByEveryCommand) { expect_all_refused(Group::kFlagValues, 160); }

}  // namespace
