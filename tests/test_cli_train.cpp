// End-to-end tests of `dnas train` and `dnas eval`: the run directory, eval reproducing the
// training run's test accuracy, exact resume after SIGKILL, --eval-every, and errors for weights
// that do not belong to the arch.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli_harness.h"

namespace {

using namespace dnas::testing;
using nlohmann::json;

class CliTrain : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::ofstream(path("tiny.json")) << R"({"format": "dnas-arch/1", "name": "tiny",
      "stem": [{"op": "conv_k3", "out": 8}],
      "layers": [{"op": "ir_k3_e3", "out": 8}, {"op": "ir_k5_e3", "out": 16, "stride": 2}],
      "head": [{"op": "avgpool"}, {"op": "fc"}]})";
  }
  std::string train_args(const std::string& out) const {
    return "train --arch " + path("tiny.json") + " --data synthetic:512:8:1:3 --epochs 3 --batch-size 16 --lr 0.05 " +
           "--seed 3 --checkpoint-every 4 --out " + path(out);
  }
  json eval(const std::string& weights) const {
    const Result r = run("eval --arch " + path("tiny.json") + " --weights " + weights + " --data synthetic:512:8:1:3 --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
};

TEST_F(CliTrain, TrainsAndEvalReproducesItsTestAccuracy) {
  const Result r = run(train_args("run") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json summary = json::parse(r.out);
  EXPECT_GT(summary["best_top1"].get<double>(), 0.6);  // 3 classes: chance is 1/3
  for (const char* file : {"config.json", "log.jsonl", "arch.json", "last.pt", "best.pt", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(path("run/") + file)) << file;
  const json evaluated = eval(path("run/best.pt"));
  EXPECT_EQ(evaluated["images"], 512);
  EXPECT_NEAR(evaluated["top1"].get<double>(), summary["best_top1"].get<double>(), 1.0 / 512 + 1e-12);

  // Exported with the trained weights, in both formats, the model runs outside dnas' network code.
  for (const char* format : {"torchscript", "lite"}) {
    const std::string out = path(std::string("model.") + format);
    const Result exported = run("export --arch " + path("run/arch.json") + " --weights " + path("run/best.pt") +
                                " --format " + format + " --out " + out);
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    const Result bench = run("bench net --model " + out + " --input-shape 1x8x8 --repeats 2 --json");
    EXPECT_EQ(bench.exit_code, 0) << format << ": " << bench.err;
  }
  expect_one_line_error(run("export --arch " + path("run/arch.json") + " --format tflite"),
                        "--format: expected torchscript, lite, onnx or json, got 'tflite'");
#ifdef DNAS_WITH_ONNX
  const Result onnx = run("export --arch " + path("run/arch.json") + " --weights " + path("run/best.pt") +
                          " --format onnx --out " + path("model.onnx"));
  ASSERT_EQ(onnx.exit_code, 0) << onnx.err;
  EXPECT_GT(fs::file_size(path("model.onnx")), 1000u);
  expect_one_line_error(run("export --arch " + path("run/arch.json") + " --format onnx --out " + path("no/dir/m.onnx")),
                        "no/dir/m.onnx: cannot write");
  EXPECT_FALSE(fs::exists(path("no/dir")));
#else
  expect_one_line_error(run("export --arch " + path("run/arch.json") + " --format onnx --out " + path("m.onnx")),
                        "this dnas was built without ONNX");
  EXPECT_FALSE(fs::exists(path("m.onnx")));
#endif
}

TEST_F(CliTrain, ResumeAfterSigkillGivesTheSameWeights) {
  ASSERT_EQ(run(train_args("whole")).exit_code, 0);
  const pid_t pid = spawn(train_args("killed"));
  for (int i = 0; i < 1200 && !fs::exists(path("killed/checkpoint.pt")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "training finished before it could be killed";
  ASSERT_EQ(run("train --resume --out " + path("killed")).exit_code, 0);
  EXPECT_EQ(eval(path("killed/last.pt"))["loss"], eval(path("whole/last.pt"))["loss"]);  // bit-identical
}

// --eval-every N scores the test split on every Nth epoch and the last, and nothing else changes:
// the scored epochs read as in a run that scores every epoch, and the weights are bit-identical.
TEST_F(CliTrain, EvalEveryScoresOnlyTheEpochsItNamesAndLeavesTheTrainingAlone) {
  ASSERT_EQ(run(train_args("every")).exit_code, 0);
  const Result r = run(train_args("sparse") + " --eval-every 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> every = read_jsonl(path("every/log.jsonl")), sparse = read_jsonl(path("sparse/log.jsonl"));
  ASSERT_EQ(every.size(), 3u);
  ASSERT_EQ(sparse.size(), 3u);
  EXPECT_FALSE(sparse[0].contains("test_top1"));  // epoch 1 of 3: not a multiple of 2, not the last
  for (size_t e : {1u, 2u}) {
    EXPECT_EQ(sparse[e]["test_top1"], every[e]["test_top1"]) << "epoch " << e + 1;
    EXPECT_EQ(sparse[e]["test_loss"], every[e]["test_loss"]) << "epoch " << e + 1;
  }
  for (size_t e = 0; e < 3; ++e) EXPECT_EQ(sparse[e]["train_loss"], every[e]["train_loss"]) << "epoch " << e + 1;
  const json summary = json::parse(r.out);
  EXPECT_FALSE(summary["epochs"][0].contains("test_top1"));
  EXPECT_EQ(summary["best_top1"].get<double>(),
            std::max(sparse[1]["test_top1"].get<double>(), sparse[2]["test_top1"].get<double>()));
  EXPECT_EQ(eval(path("sparse/last.pt"))["loss"], eval(path("every/last.pt"))["loss"]);
  expect_one_line_error(run(train_args("zero") + " --eval-every 0"), "--eval-every: expected");
  EXPECT_FALSE(fs::exists(path("zero")));
}

TEST_F(CliTrain, BadInputGivesOneLineAndExitTwo) {
  ASSERT_EQ(run(train_args("run")).exit_code, 0);
  std::ofstream(path("other.json")) << R"({"format": "dnas-arch/1", "stem": [{"op": "conv_k3", "out": 12}],
      "layers": [], "head": [{"op": "avgpool"}, {"op": "fc"}]})";
  expect_one_line_error(run("eval --arch " + path("other.json") + " --weights " + path("run/best.pt") +
                            " --data synthetic:512:8:1:3"),
                        "best.pt: stem.0.conv.weight: shape [8, 1, 3, 3] in the weights file, [12, 1, 3, 3] in the arch");
  expect_one_line_error(run("eval --arch " + path("tiny.json") + " --weights " + path("none.pt") + " --data synthetic"),
                        "none.pt: no such weights file");
  expect_one_line_error(run("train --arch " + path("tiny.json") + " --recipe nope --out " + path("b")),
                        "unknown recipe 'nope'");
  expect_one_line_error(run("train --resume --out " + path("run") + " --lr 0.5"), "lr 0.05 -> 0.5");
  std::ofstream(path("run/checkpoint.pt"), std::ios::trunc) << "damaged";
  expect_one_line_error(run("train --resume --out " + path("run")), "checkpoint.pt: cannot load checkpoint");
  expect_one_line_error(run("train --data synthetic --out " + path("c")), "--arch: required");
  // eval's and bench loader's data flags accept what train's and search's do, and say so alike.
  expect_one_line_error(run("eval --arch " + path("tiny.json") + " --weights " + path("run/best.pt") +
                            " --data synthetic --image-size 4097"),
                        "--image-size: expected a value in [1, 4096], got 4097");
  expect_one_line_error(run("bench loader --data synthetic --crop-scale-min 0"),
                        "--crop-scale-min: expected a value in (0, 1], got 0");
  expect_one_line_error(run("bench loader --data synthetic --eval-resize-ratio 4.5"),
                        "--eval-resize-ratio: expected a value in [1, 4], got 4.5");
}

// A corrupt image in a streamed folder stops training with one line naming the file, and the run
// directory it had started is removed (no checkpoint was written, so nothing could resume it).
TEST_F(CliTrain, ACorruptImageStopsTheRunNamingItAndLeavesNothing) {
  for (const char* c : {"a", "b"}) {
    fs::create_directories(path(std::string("folder/") + c));
    for (int i = 0; i < 2; ++i)
      std::ofstream(path(std::string("folder/") + c + "/" + std::to_string(i) + ".jpg"), std::ios::binary)
          << "\xff\xd8\xff\xe0 not really a JPEG";
  }
  const Result r = run("train --arch " + path("tiny.json") + " --data folder:" + path("folder") +
                       " --image-size 8 --batch-size 2 --epochs 1 --out " + path("corrupt"));
  expect_one_line_error(r, "cannot decode image");
  EXPECT_NE(r.err.find(path("folder/")), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("corrupt"))) << "the failed run left its directory behind";
}

}  // namespace
