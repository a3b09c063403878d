// Streamed image folders (data/folder_index.h, image_stream.h, batch_loader.h): ImageFolder's
// index and errors, torchvision-equal pixels for the evaluation and training transforms, batches
// that do not depend on the thread count, exact resume, DistributedSampler-style shards, and bad
// files named or skipped. The references come from torchvision and PIL themselves
// (tests/python/image_folder_reference.py).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "data/folder_index.h"
#include "data/image_pipeline.h"
#include "data/sample_random.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using dnas::testing::error_of;
using dnas::testing::TempDir;

const std::string kScript = std::string(DNAS_SOURCE_DIR) + "/tests/python/image_folder_reference.py";

// The first interpreter with torchvision and PIL (Debian's python3-torchvision installs into
// /usr/bin/python3; a pyenv or venv python3 first on PATH may lack them).
std::string python() {
  static const std::string found = [] {
    for (const char* p : {"python3", "/usr/bin/python3"}) {
      const std::string probe = std::string(p) + " -c 'import torchvision, PIL' >/dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) return std::string(p);
    }
    return std::string();
  }();
  return found;
}

void run_python(const std::string& args) {
  ASSERT_FALSE(python().empty()) << "no python3 with torchvision and PIL (scripts/setup.sh installs Debian's "
                                    "python3-torchvision and python3-pil)";
  const std::string command = python() + " " + kScript + " " + args;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string read_bytes(const std::string& path) { return read_text_file(path); }

// A fresh cache directory per process, so tests never read another run's index.
class ImageStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("DNAS_CACHE_DIR", cache_.file("").c_str(), 1);
    root_ = dir_.file("folder");
    run_python("make " + root_);
  }
  DataOptions options(int64_t size, int64_t threads = 2) const {
    DataOptions o;
    o.image_size = size;
    o.loader_threads = threads;
    return o;
  }
  std::vector<Batch> epoch(const Dataset& data, int64_t batch, uint64_t seed, bool augment, int64_t first = 0,
                           Shard shard = {}) const {
    std::vector<int64_t> all(static_cast<size_t>(data.size()));
    std::iota(all.begin(), all.end(), 0);
    BatchLoader loader(data, all, batch, seed, first, c10::Device(c10::kCPU), shard, augment);
    std::vector<Batch> out;
    for (Batch b; loader.next(b);) out.push_back(b);
    return out;
  }

  TempDir dir_, cache_;
  std::string root_;
};

TEST_F(ImageStreamTest, IndexFollowsImageFolderOrderAndLabels) {
  const FolderIndex index = index_image_folder(root_, "test");
  EXPECT_EQ(index.classes, (std::vector<std::string>{"cat", "dog", "emu"}));
  const std::vector<std::string> files = {"cat/a.JPEG",         "cat/b.jpg",      "cat/nested/c.jpeg",
                                          "dog/cmyk.JPEG",      "dog/gray.JPEG",  "dog/png_named.JPEG",
                                          "emu/large.jpg",      "emu/rgba.png",   "emu/small.png"};
  EXPECT_EQ(index.files, files);  // .DS_Store is hidden: not indexed
  EXPECT_EQ(index.labels, (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2}));
  for (int64_t i = 0; i < index.size(); ++i)
    EXPECT_EQ(index.sizes[static_cast<size_t>(i)], static_cast<int64_t>(fs::file_size(index.path(i))));
}

TEST_F(ImageStreamTest, TheCachedIndexIsReadWhileCurrentAndRebuiltWhenAFolderChanges) {
  const FolderIndex first = index_image_folder(root_, "test");
  const std::string cache = folder_index_cache_path(first.root);
  ASSERT_TRUE(fs::exists(cache));
  // A cache entry that lists one file fewer, with the same folder stamps: read as is, so the
  // index really comes from the cache.
  std::string text = read_bytes(cache);
  const std::string marker = "\"emu/small.png\"";
  ASSERT_NE(text.find(marker), std::string::npos);
  text.replace(text.find(marker), marker.size(), "\"emu/tiny.png\"");
  write_text_file_atomic(cache, text);
  EXPECT_EQ(index_image_folder(root_, "test").files.back(), "emu/tiny.png");
  // A new file changes its class folder's time: the index is scanned again.
  fs::copy_file(root_ + "/emu/small.png", root_ + "/emu/zebra.png");
  const FolderIndex rescanned = index_image_folder(root_, "test");
  EXPECT_EQ(rescanned.size(), first.size() + 1);
  EXPECT_EQ(rescanned.files.back(), "emu/zebra.png");
  // A new file in a nested folder changes only that folder's time: the index is scanned again too.
  fs::copy_file(root_ + "/cat/nested/c.jpeg", root_ + "/cat/nested/d.jpeg");
  const FolderIndex nested = index_image_folder(root_, "test");
  EXPECT_EQ(nested.size(), rescanned.size() + 1);
  EXPECT_NE(std::find(nested.files.begin(), nested.files.end(), "cat/nested/d.jpeg"), nested.files.end());
}

TEST_F(ImageStreamTest, BadFoldersAreNamed) {
  fs::create_directories(root_ + "/empty");
  EXPECT_NE(error_of([&] { index_image_folder(root_, "--data folder:X"); }).find(root_ + "/empty"), std::string::npos);
  fs::remove(root_ + "/empty");
  std::ofstream(root_ + "/dog/notes.txt") << "hi";
  const std::string message = error_of([&] { index_image_folder(root_, "--data folder:X"); });
  EXPECT_NE(message.find("--data folder:X: " + root_ + "/dog/notes.txt is not a .jpg/.jpeg/.png image"),
            std::string::npos)
      << message;
  fs::remove(root_ + "/dog/notes.txt");
  TempDir one;
  fs::create_directories(one.file("only"));
  EXPECT_NE(error_of([&] { index_image_folder(one.file(""), "--data folder:X"); }).find("at least 2"), std::string::npos);
  if (geteuid() != 0) {  // root reads every directory
    fs::permissions(root_ + "/dog/nested", fs::perms::none);
    const std::string unreadable = error_of([&] { index_image_folder(root_, "--data folder:X"); });
    fs::permissions(root_ + "/dog/nested", fs::perms::owner_all);
    EXPECT_NE(unreadable.find(root_ + "/dog/nested"), std::string::npos) << unreadable;
  }
}

TEST_F(ImageStreamTest, EvaluationPixelsEqualTorchvision) {
  for (const double ratio : {256.0 / 224.0, 1.0, 1.5}) {
    SCOPED_TRACE(ratio);
    const int64_t size = 64;
    run_python("eval " + root_ + " " + std::to_string(size) + " " + std::to_string(ratio) + " " + dir_.file("eval.bin"));
    DataOptions o = options(size);
    o.eval_resize_ratio = ratio;
    const Dataset data = load_dataset("folder:" + root_, false, o);
    std::vector<int64_t> all(static_cast<size_t>(data.size()));
    std::iota(all.begin(), all.end(), 0);
    const at::Tensor ours = data.raw(all, 0, false).to(at::kInt);
    const std::string expected = read_bytes(dir_.file("eval.bin"));
    ASSERT_EQ(static_cast<int64_t>(expected.size()), ours.numel());
    const at::Tensor theirs =
        at::from_blob(const_cast<char*>(expected.data()), ours.sizes(), at::kByte).to(at::kInt);
    for (int64_t i = 0; i < data.size(); ++i)
      EXPECT_LE((ours[i] - theirs[i]).abs().max().item<int>(), 2) << data.stream->index().files[static_cast<size_t>(i)];
  }
}

// With DCT scaling off every crop takes the exact path; with it on (the default), the crops at
// least twice the output size decode at 1/2..1/8 and stay close.
TEST_F(ImageStreamTest, TrainingPixelsEqualTorchvisionForTheSameCropAndFlip) {
  const int64_t size = 48;
  DataOptions exact = options(size);
  exact.dct_scaling = false;
  const Dataset data = load_dataset("folder:" + root_, true, exact);
  const Dataset scaled = load_dataset("folder:" + root_, true, options(size));
  const uint64_t key = 99;
  // Replay each sample's draws to learn its box and flip, then let torchvision crop the same.
  std::ofstream boxes(dir_.file("boxes.txt"));
  for (int64_t i = 0; i < data.size(); ++i) {
    SampleRandom random(key, i);
    const std::string bytes = read_bytes(data.stream->index().path(i));
    const ImageInfo info = read_image_info(bytes, "x");
    const PixelRect box = random_resized_crop_box(info.width, info.height, CropScale{}, random);
    const bool flip = random.rand() < 0.5f;
    boxes << i << ' ' << box.y << ' ' << box.x << ' ' << box.height << ' ' << box.width << ' ' << flip << '\n';
  }
  boxes.close();
  run_python("crops " + root_ + " " + std::to_string(size) + " " + dir_.file("boxes.txt") + " " + dir_.file("crops.bin"));
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  std::iota(all.begin(), all.end(), 0);
  const at::Tensor ours = data.raw(all, key, true).to(at::kInt);
  const std::string expected = read_bytes(dir_.file("crops.bin"));
  ASSERT_EQ(static_cast<int64_t>(expected.size()), ours.numel());
  const at::Tensor theirs = at::from_blob(const_cast<char*>(expected.data()), ours.sizes(), at::kByte).to(at::kInt);
  for (int64_t i = 0; i < data.size(); ++i)
    EXPECT_LE((ours[i] - theirs[i]).abs().max().item<int>(), 2) << data.stream->index().files[static_cast<size_t>(i)];
  const at::Tensor fast = scaled.raw(all, key, true).to(at::kInt);
  EXPECT_FALSE(at::equal(fast, ours));  // some crops here are large enough to scale
  for (int64_t i = 0; i < data.size(); ++i) {
    const at::Tensor diff = (fast[i] - theirs[i]).abs().to(at::kFloat);
    std::printf("%-20s DCT-scaled vs torchvision: mean |diff| %.3f, max %.0f\n",
                data.stream->index().files[static_cast<size_t>(i)].c_str(), diff.mean().item<float>(),
                diff.max().item<float>());
    EXPECT_LE(diff.mean().item<float>(), 1.0f) << data.stream->index().files[static_cast<size_t>(i)];
  }
}

TEST_F(ImageStreamTest, BatchesDoNotDependOnTheThreadCount) {
  const Dataset one = load_dataset("folder:" + root_, true, options(40, 1));
  const Dataset three = load_dataset("folder:" + root_, true, options(40, 3));
  const std::vector<Batch> a = epoch(one, 4, 5, true), b = epoch(three, 4, 5, true);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(at::equal(a[i].images, b[i].images));
    EXPECT_TRUE(at::equal(a[i].labels, b[i].labels));
  }
  // Another epoch (another seed) draws other crops.
  EXPECT_FALSE(at::equal(epoch(one, 4, 6, true)[0].images, a[0].images));
}

TEST_F(ImageStreamTest, AResumedEpochYieldsTheSameBatches) {
  const Dataset data = load_dataset("folder:" + root_, true, options(32));
  const std::vector<Batch> whole = epoch(data, 2, 11, true);
  ASSERT_EQ(whole.size(), 4u);
  const std::vector<Batch> resumed = epoch(data, 2, 11, true, /*first=*/2);
  ASSERT_EQ(resumed.size(), 2u);
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_TRUE(at::equal(resumed[i].images, whole[i + 2].images));
    EXPECT_TRUE(at::equal(resumed[i].labels, whole[i + 2].labels));
  }
}

TEST(Shards, AreDisjointEqualAndCoverTheEpochLikeDistributedSampler) {
  for (const int64_t n : {96, 97, 10}) {
    SCOPED_TRACE(n);
    std::vector<int64_t> split(static_cast<size_t>(n));
    std::iota(split.begin(), split.end(), 0);
    const int64_t ranks = 3, batch = 4;
    const std::vector<int64_t> order = epoch_order(split, 42, ranks);
    EXPECT_EQ(static_cast<int64_t>(order.size()) % ranks, 0);  // padded to equal shares
    EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), static_cast<size_t>(n));
    std::multiset<int64_t> seen;
    size_t length = 0;
    for (int64_t r = 0; r < ranks; ++r) {
      const std::vector<int64_t> shard = shard_samples(order, batch, Shard{r, ranks});
      if (r == 0) length = shard.size();
      EXPECT_EQ(shard.size(), length);  // equal length
      EXPECT_EQ(static_cast<int64_t>(shard.size()), batches_per_epoch(n, batch, ranks) * batch);
      seen.insert(shard.begin(), shard.end());
    }
    // Disjoint (padding repeats only what the epoch's tail would), and together one epoch.
    const int64_t consumed = batches_per_epoch(n, batch, ranks) * batch * ranks;
    EXPECT_EQ(static_cast<int64_t>(seen.size()), consumed);
    if (consumed <= n) {
      EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), seen.size());
    }
    if (n % (ranks * batch) == 0) {
      EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), static_cast<size_t>(n));
    }
  }
  // 97 over 3 ranks pads to 99 = 33 each (DistributedSampler's ceil(97 / 3)), 8 batches of 4.
  EXPECT_EQ(batches_per_epoch(97, 4, 3), 8);
  std::vector<int64_t> split(20);
  std::iota(split.begin(), split.end(), 0);
  EXPECT_NE(epoch_order(split, 1, 2), epoch_order(split, 2, 2));  // reshuffled each epoch
}

TEST_F(ImageStreamTest, TheShardsOfOneStepMakeTheSingleProcessBatch) {
  const Dataset data = load_dataset("folder:" + root_, true, options(24));
  const std::vector<Batch> single = epoch(data, 4, 3, true);
  const std::vector<Batch> rank0 = epoch(data, 2, 3, true, 0, Shard{0, 2});
  const std::vector<Batch> rank1 = epoch(data, 2, 3, true, 0, Shard{1, 2});
  ASSERT_EQ(single.size(), 2u);
  ASSERT_EQ(rank0.size(), single.size());
  for (size_t s = 0; s < single.size(); ++s)
    EXPECT_TRUE(at::equal(at::cat({rank0[s].images, rank1[s].images}), single[s].images));
}

// On CUDA a streamed batch travels as uint8 through pinned memory and is normalised on the device:
// the same images as the CPU path (which normalises on the decoding threads), to float rounding.
TEST_F(ImageStreamTest, OnCudaStreamedBatchesEqualTheCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device (needs a GPU)";
  const Dataset data = load_dataset("folder:" + root_, true, options(32));
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  std::iota(all.begin(), all.end(), 0);
  for (const bool augment : {true, false}) {
    BatchLoader cpu(data, all, 4, 7, 0, c10::Device(c10::kCPU), {}, augment);
    BatchLoader cuda(data, all, 4, 7, 0, c10::Device(c10::kCUDA, 0), {}, augment);
    Batch a, b;
    while (cpu.next(a)) {
      ASSERT_TRUE(cuda.next(b));
      EXPECT_TRUE(b.images.is_cuda());
      EXPECT_TRUE(at::allclose(a.images, b.images.cpu(), 1e-5, 1e-6));
      EXPECT_TRUE(at::equal(a.labels, b.labels.cpu()));
    }
    EXPECT_FALSE(cuda.next(b));
  }
}

TEST_F(ImageStreamTest, ACorruptFileStopsTheRunNamingItOrIsSkippedAndReported) {
  const std::string bad = root_ + "/dog/gray.JPEG";
  std::string bytes = read_bytes(bad);
  bytes.resize(bytes.size() / 2);  // truncated
  { std::ofstream(bad, std::ios::binary | std::ios::trunc) << bytes; }
  const Dataset strict = load_dataset("folder:" + root_, false, options(32));
  std::vector<int64_t> all(static_cast<size_t>(strict.size()));
  std::iota(all.begin(), all.end(), 0);
  const std::string message = error_of([&] { epoch(strict, 9, 0, false); });
  EXPECT_NE(message.find(bad + ": cannot decode image"), std::string::npos) << message;

  DataOptions skip = options(32);
  skip.skip_bad_images = true;
  const Dataset lenient = load_dataset("folder:" + root_, false, skip);
  const std::vector<Batch> batches = epoch(lenient, 9, 0, false);
  ASSERT_EQ(batches.size(), 1u);
  const std::vector<std::string> skipped = skipped_images(lenient);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].rfind(bad + ": cannot decode image", 0), 0u) << skipped[0];
}

TEST_F(ImageStreamTest, TrainAndValFoldersAreTheTwoSplits) {
  TempDir imagenet;
  fs::copy(root_, imagenet.file("train"), fs::copy_options::recursive);
  fs::create_directories(imagenet.file("val"));
  for (const char* c : {"cat", "dog", "emu"}) {
    fs::create_directories(imagenet.file(std::string("val/") + c));
    fs::copy_file(root_ + "/emu/small.png", imagenet.file(std::string("val/") + c + "/v.png"));
  }
  const Dataset train = load_dataset("folder:" + imagenet.file(""), true, options(16));
  const Dataset val = load_dataset("folder:" + imagenet.file(""), false, options(16));
  EXPECT_EQ(train.size(), 9);
  EXPECT_EQ(val.size(), 3);
  EXPECT_EQ(val.num_classes, 3);
  EXPECT_TRUE(at::equal(val.labels, at::arange(3, at::kLong)));
  fs::remove_all(imagenet.file("val/emu"));
  EXPECT_NE(error_of([&] { load_dataset("folder:" + imagenet.file(""), false, options(16)); }).find("val"),
            std::string::npos);
}

// train/ beside test/ (no val/) is half of ImageNet's layout, not two classes named train and test.
TEST_F(ImageStreamTest, ATrainFolderWithoutValIsRefusedNotReadAsAClass) {
  TempDir half;
  fs::copy(root_, half.file("train"), fs::copy_options::recursive);
  fs::copy(root_, half.file("test"), fs::copy_options::recursive);
  const std::string message = error_of([&] { load_dataset("folder:" + half.file(""), true, options(16)); });
  EXPECT_NE(message.find("has train/ of class folders but no val/"), std::string::npos) << message;
  EXPECT_EQ(load_dataset("folder:" + half.file("train"), true, options(16)).num_classes, 3);  // the hint works
  // A class that happens to be called "train", its images directly inside, is still a class.
  TempDir vehicles;
  for (const char* c : {"bus", "train"}) {
    fs::create_directories(vehicles.file(c));
    fs::copy_file(root_ + "/emu/small.png", vehicles.file(std::string(c) + "/a.png"));
  }
  EXPECT_EQ(load_dataset("folder:" + vehicles.file(""), true, options(16)).num_classes, 2);
}

}  // namespace
}  // namespace dnas
