// Image-classification datasets held in memory as uint8 N x C x H x W plus int64 labels.
//
// --data specs (load_dataset):
//   mnist:DIR       train-images-idx3-ubyte + train-labels-idx1-ubyte (IDX; test: t10k-*), each
//                   plain or gzipped (.gz, as Fashion-MNIST and the MNIST site ship them)
//   fashion-mnist   Fashion-MNIST from Debian's dataset-fashion-mnist (kFashionMnistDir)
//   cifar10:DIR     data_batch_{1..5}.bin (test: test_batch.bin), CIFAR-10 binary
//   cifar100:DIR    train.bin (test: test.bin), CIFAR-100 binary, fine labels
//   folder:DIR      DIR/<class>/*.{jpg,jpeg,png}, classes sorted by name, resized to image_size
//   synthetic[:N[:SIZE[:CHANNELS[:CLASSES]]]]   a generated, learnable set (default 512:32:3:10)
//   DIR             detected from its contents
// Every malformed file (bad magic, truncated records, label out of range, count mismatch,
// undecodable image, empty class) throws dnas::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dnas {

struct Dataset {
  std::string name;    // mnist, cifar10, cifar100, folder, synthetic
  std::string source;  // the spec it was loaded from
  at::Tensor images;   // uint8 [N, C, H, W]
  at::Tensor labels;   // int64 [N]
  int64_t num_classes = 0;
  std::vector<double> mean, std;  // per channel, pixel values scaled to [0, 1]

  int64_t size() const { return images.size(0); }
  // The first n samples (all of them when n >= size()).
  Dataset first(int64_t n) const;
  // The images at `index` (int64), as float scaled to [0, 1] and normalised per channel: what
  // every step and evaluation feeds the network.
  at::Tensor normalized(const at::Tensor& index) const;
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

// Where Debian's dataset-fashion-mnist package installs its gzipped IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

Dataset load_dataset(const std::string& spec, bool train = true, int64_t image_size = 32);
// Class templates are fixed; `seed` draws the samples (the train and test splits use different seeds).
Dataset make_synthetic(int64_t samples, int64_t size, int64_t channels, int64_t classes, uint64_t seed);

// Writes MNIST-format IDX files (used by tests and the MNIST fetch script's checks).
void write_idx_images(const std::string& path, const at::Tensor& images_u8_nhw);
void write_idx_labels(const std::string& path, const at::Tensor& labels);

}  // namespace dnas
