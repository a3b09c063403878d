// Image-classification datasets held in memory as uint8 N x C x H x W plus int64 labels.
//
// --data specs (load_dataset):
//   mnist:DIR       train-images-idx3-ubyte + train-labels-idx1-ubyte (IDX; test: t10k-*), each
//                   plain or gzipped (.gz, as Fashion-MNIST and the MNIST site ship them)
//   fashion-mnist   Fashion-MNIST from Debian's dataset-fashion-mnist (kFashionMnistDir)
//   cifar10:DIR     data_batch_{1..5}.bin (test: test_batch.bin), CIFAR-10 binary
//   cifar100:DIR    train.bin (test: test.bin), CIFAR-100 binary, fine labels
//   folder:DIR      DIR/<class>/**.{jpg,jpeg,png} as torchvision's ImageFolder (classes sorted by
//                   name), or ImageNet's DIR/train/<class>/ + DIR/val/<class>/ (the test split is
//                   val/). Streamed: indexed once (folder_index.h), decoded per batch on worker
//                   threads with torchvision's transforms at image_size (image_stream.h), never
//                   held in memory; normalised with ImageNet's mean and std.
//   synthetic[:N[:SIZE[:CHANNELS[:CLASSES]]]]   a generated, learnable set (default 512:32:3:10)
//   DIR             detected from its contents
// Every malformed file (bad magic, truncated records, label out of range, count mismatch,
// undecodable image, empty class) throws dnas::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/image_stream.h"

namespace dnas {

struct Dataset {
  std::string name;    // mnist, cifar10, cifar100, folder, synthetic
  std::string source;  // the spec it was loaded from
  at::Tensor images;   // uint8 [N, C, H, W]; undefined for a streamed folder
  std::shared_ptr<const ImageStream> stream;  // a streamed folder; null for in-memory data
  at::Tensor labels;   // int64 [N]
  int64_t num_classes = 0;
  std::vector<double> mean, std;  // per channel, pixel values scaled to [0, 1]

  int64_t size() const { return labels.size(0); }
  bool streamed() const { return stream != nullptr; }
  // The first n samples (all of them when n >= size()). A streamed folder, sorted by class,
  // keeps a fixed random n instead, so that every class stays represented.
  Dataset first(int64_t n) const;
  // The images at `index` as uint8 [B, C, H, W] on the CPU (in pinned memory when `pinned`). A
  // streamed folder decodes them with the training transform when `augment` (random crops and
  // flips drawn from (key, sample index)) and the evaluation transform otherwise; in-memory data
  // is gathered as stored (its augmentation is data/augment.h, applied by the trainer).
  at::Tensor raw(const std::vector<int64_t>& index, uint64_t key, bool augment, bool pinned = false) const;
  // uint8 images scaled to [0, 1] and normalised per channel, on their own device.
  at::Tensor normalize(const at::Tensor& raw) const;
  // raw() then normalize() on the CPU; a streamed folder normalises on its decoding threads (the
  // same values: a table of normalize() applied to every byte value).
  // `into`, when given (float, B x C x H x W), receives a streamed folder's batch instead of a new
  // tensor.
  at::Tensor normalized_batch(const std::vector<int64_t>& index, uint64_t key, bool augment,
                              at::Tensor into = {}) const;
  // normalize(raw(index)) without augmentation: what evaluation feeds the network.
  at::Tensor normalized(const at::Tensor& index) const;
  int64_t channels() const { return streamed() ? 3 : images.size(1); }
  int64_t height() const { return streamed() ? stream->image_size() : images.size(2); }
  int64_t width() const { return streamed() ? stream->image_size() : images.size(3); }
};

// The files a streamed folder skipped as bad so far (skip_bad_images), each "<path>: <reason>".
inline std::vector<std::string> skipped_images(const Dataset& data) {
  return data.streamed() ? data.stream->skipped() : std::vector<std::string>{};
}

// How image folders are read (the in-memory datasets ignore it but image_size).
struct DataOptions {
  int64_t image_size = 32;
  int64_t loader_threads = 0;  // 0: the core count
  bool skip_bad_images = false;
  double crop_scale_min = 0.08;             // RandomResizedCrop's smallest area fraction
  double eval_resize_ratio = 256.0 / 224.0; // evaluation resizes the short side to size x this
  bool dct_scaling = true;  // JPEG crops >= 2x the output decode at 1/2..1/8 (image_pipeline.h)
};

// The options of a run's config (TrainConfig, SearchConfig: the fields of the same names).
template <typename Config>
DataOptions data_options(const Config& config) {
  DataOptions options;
  options.image_size = config.image_size;
  options.loader_threads = config.loader_threads;
  options.skip_bad_images = config.skip_bad_images;
  options.crop_scale_min = config.crop_scale_min;
  options.eval_resize_ratio = config.eval_resize_ratio;
  return options;
}

// Where Debian's dataset-fashion-mnist package installs its gzipped IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

Dataset load_dataset(const std::string& spec, bool train, const DataOptions& options);
inline Dataset load_dataset(const std::string& spec, bool train = true, int64_t image_size = 32) {
  DataOptions options;
  options.image_size = image_size;
  return load_dataset(spec, train, options);
}
// Class templates are fixed; `seed` draws the samples (the train and test splits use different seeds).
Dataset make_synthetic(int64_t samples, int64_t size, int64_t channels, int64_t classes, uint64_t seed);

// Writes MNIST-format IDX files (used by tests and the MNIST fetch script's checks).
void write_idx_images(const std::string& path, const at::Tensor& images_u8_nhw);
void write_idx_labels(const std::string& path, const at::Tensor& labels);

}  // namespace dnas
