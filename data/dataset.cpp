#include "data/dataset.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "common/error.h"
#include "common/file_io.h"
#include "data/binary_formats.h"
#include "data/folder_index.h"
#include "supernet/config_store.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;

// The gzip stream in `compressed`, inflated; at most kMaxReadBytes (a gzip bomb is an error).
std::string gunzip(const std::string& compressed, const std::string& path) {
  z_stream z{};
  DNAS_CHECK(inflateInit2(&z, 15 + 16) == Z_OK, path, ": cannot start zlib");  // 15 + 16: gzip framing
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string reason = z.msg != nullptr ? z.msg : rc == Z_BUF_ERROR ? "truncated" : "corrupt";
      inflateEnd(&z);
      throw Error(path + ": not a valid gzip file (" + reason + ")");
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (static_cast<int64_t>(out.size()) > kMaxReadBytes) {
      inflateEnd(&z);
      throw Error(detail::concat(path, ": inflates to more than the ", kMaxReadBytes, " bytes (1 GiB) dnas reads"));
    }
  }
  inflateEnd(&z);
  return out;
}

// DIR/NAME, or DIR/NAME.gz inflated; the second element is the path that was read.
std::pair<std::string, std::string> require_file(const fs::path& dir, const std::string& name, const std::string& what) {
  const fs::path path = dir / name, gzipped = dir / (name + ".gz");
  std::error_code ec;
  if (fs::exists(path, ec)) return {read_text_file(path.string()), path.string()};
  if (fs::exists(gzipped, ec)) return {gunzip(read_text_file(gzipped.string()), gzipped.string()), gzipped.string()};
  throw Error(path.string() + ": missing, and no " + gzipped.filename().string() + " either (expected " + what + ")");
}

void compute_stats(Dataset& d) {
  const at::Tensor x = d.images.to(at::kDouble).div(255.0);
  const at::Tensor mean = x.mean({0, 2, 3});
  const at::Tensor std = x.std({0, 2, 3}).clamp_min(1e-3);
  for (int64_t c = 0; c < d.channels(); ++c) {
    d.mean.push_back(mean[c].item<double>());
    d.std.push_back(std[c].item<double>());
  }
}

Dataset load_mnist(const fs::path& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string image_name = prefix + "-images-idx3-ubyte", label_name = prefix + "-labels-idx1-ubyte";
  const auto [images, image_path] = require_file(dir, image_name, "MNIST IDX images");
  const auto [labels, label_path] = require_file(dir, label_name, "MNIST IDX labels");
  const IdxImages idx = parse_idx_images(images, image_path);
  check_idx_labels(labels, label_path, idx.count, 10);
  const int64_t n = idx.count, rows = idx.rows, cols = idx.cols;
  Dataset d;
  d.name = "mnist";
  d.num_classes = 10;
  d.images = at::from_blob(const_cast<char*>(images.data() + IdxImages::kHeaderBytes), {n, 1, rows, cols}, at::kByte)
                 .clone();
  d.labels = at::from_blob(const_cast<char*>(labels.data() + kIdxLabelHeaderBytes), {n}, at::kByte).to(at::kLong);
  return d;
}

Dataset load_cifar(const fs::path& dir, bool train, int classes) {
  std::vector<std::string> names;
  if (classes == 10) {
    if (train)
      for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
    else
      names.push_back("test_batch.bin");
  } else {
    names.push_back(train ? "train.bin" : "test.bin");
  }
  const int64_t label_bytes = cifar_label_bytes(classes), record = label_bytes + kCifarImageBytes;
  std::vector<at::Tensor> images, labels;
  for (const std::string& name : names) {
    const std::string bytes = require_file(dir, name, classes == 10 ? "CIFAR-10 binary batches" : "CIFAR-100 binary").first;
    const int64_t n = cifar_record_count(bytes, (dir / name).string(), classes);
    const at::Tensor raw = at::from_blob(const_cast<char*>(bytes.data()), {n, record}, at::kByte).clone();
    labels.push_back(raw.select(1, label_bytes - 1).to(at::kLong));
    images.push_back(raw.slice(1, label_bytes).reshape({n, 3, 32, 32}));
  }
  Dataset d;
  d.name = classes == 10 ? "cifar10" : "cifar100";
  d.num_classes = classes;
  d.images = at::cat(images);
  d.labels = at::cat(labels);
  return d;
}

// ImageNet's per-channel statistics: what torchvision's recipes normalise natural images with
// (a streamed folder is never read whole, so its own cannot be measured up front).
constexpr double kImageNetMean[3] = {0.485, 0.456, 0.406}, kImageNetStd[3] = {0.229, 0.224, 0.225};

Dataset load_folder(const fs::path& dir, bool train, const DataOptions& options, const std::string& spec) {
  const std::string what = "--data " + spec;
  std::string root = dir.string();
  FolderIndex index;
  if (has_train_val_layout(root)) {
    const FolderIndex train_index = index_image_folder(root + "/train", what);
    if (train) {
      index = train_index;
    } else {
      index = index_image_folder(root + "/val", what);
      DNAS_CHECK(index.classes == train_index.classes, what, ": the ", index.classes.size(), " classes of ", root,
                 "/val differ from the ", train_index.classes.size(), " of train/ (val/ needs one folder per class of train/)");
    }
  } else {
    DNAS_CHECK(!has_train_without_val(root), what, ": ", root,
               " has train/ of class folders but no val/ (expected train/<class>/ and val/<class>/: name the "
               "held-out split val/, or pass ", root, "/train to read it as a folder of classes)");
    index = index_image_folder(root, what);
  }
  Dataset d;
  d.name = "folder";
  d.num_classes = static_cast<int64_t>(index.classes.size());
  d.labels = at::tensor(index.labels, at::kLong);
  StreamOptions stream;
  stream.threads = options.loader_threads;
  stream.skip_bad_images = options.skip_bad_images;
  stream.transform.size = options.image_size;
  stream.transform.crop.scale_min = options.crop_scale_min;
  stream.transform.eval_resize_ratio = options.eval_resize_ratio;
  stream.transform.dct_scaling = options.dct_scaling;
  d.stream = std::make_shared<const ImageStream>(std::move(index), stream);
  d.mean.assign(std::begin(kImageNetMean), std::end(kImageNetMean));
  d.std.assign(std::begin(kImageNetStd), std::end(kImageNetStd));
  return d;
}

// One field of synthetic[:N[:SIZE[:CHANNELS[:CLASSES]]]]: digits only, within [1, most].
int64_t parse_count(const std::string& text, const std::string& spec, const char* field, int64_t most) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  const int64_t value = digits ? std::stoll(text) : 0;
  DNAS_CHECK(value > 0, "--data ", spec,
             ": expected positive integers in synthetic[:N[:SIZE[:CHANNELS[:CLASSES]]]], got '", text, "'");
  DNAS_CHECK(value <= most, "--data ", spec, ": ", field, " ", value, " is more than the ", most, " accepted");
  return value;
}

}  // namespace

constexpr int64_t kMaxSyntheticBytes = int64_t{4} << 30;

Dataset make_synthetic(int64_t samples, int64_t size, int64_t channels, int64_t classes, uint64_t seed) {
  // Each class is a random low-frequency template, the same for every split (a fixed seed);
  // samples add noise and a random shift drawn from `seed`, so train and test splits differ.
  std::mt19937_64 template_rng(0x5eed), rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> shift(-1, 1);
  const int64_t coarse = std::max<int64_t>(2, size / 4);
  std::vector<at::Tensor> templates;
  for (int64_t k = 0; k < classes; ++k) {
    std::vector<float> values(static_cast<size_t>(channels * coarse * coarse));
    for (float& v : values) v = normal(template_rng);
    const at::Tensor small = at::tensor(values).view({1, channels, coarse, coarse});
    templates.push_back(at::upsample_bilinear2d(small, {size, size}, false).squeeze(0));
  }
  std::vector<at::Tensor> images;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < samples; ++i) {
    const int64_t k = i % classes;
    std::vector<float> noise(static_cast<size_t>(channels * size * size));
    for (float& v : noise) v = 0.9f * normal(rng);
    const at::Tensor x = at::roll(templates[k], {shift(rng), shift(rng)}, {1, 2}) + at::tensor(noise).view({channels, size, size});
    images.push_back(((x * 48.0) + 128.0).round().clamp(0, 255).to(at::kByte).unsqueeze(0));
    labels.push_back(k);
  }
  Dataset d;
  d.name = "synthetic";
  d.num_classes = classes;
  d.images = at::cat(images);
  d.labels = at::tensor(labels, at::kLong);
  compute_stats(d);
  return d;
}

Dataset load_dataset(const std::string& spec, bool train, const DataOptions& options) {
  std::string kind, path = spec;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    kind = spec.substr(0, colon);
    path = spec.substr(colon + 1);
  }
  if (spec == "synthetic" || kind == "synthetic") {
    std::vector<int64_t> values = {512, 32, 3, 10};
    std::string rest = kind.empty() ? "" : path;
    for (size_t i = 0; !rest.empty(); ++i) {
      DNAS_CHECK(i < values.size(), "--data ", spec, ": too many fields (synthetic[:N[:SIZE[:CHANNELS[:CLASSES]]]])");
      const auto next = rest.find(':');
      static const char* const kFields[] = {"N", "SIZE", "CHANNELS", "CLASSES"};
      static const int64_t kMost[] = {10000000, 4096, 64, 100000};
      values[i] = parse_count(rest.substr(0, next), spec, kFields[i], kMost[i]);
      rest = next == std::string::npos ? "" : rest.substr(next + 1);
    }
    DNAS_CHECK(values[3] >= 2, "--data ", spec, ": expected at least 2 classes");
    // Held in memory as uint8: N x CHANNELS x SIZE x SIZE bytes (each factor is bounded above, so
    // the product cannot overflow).
    const double bytes = static_cast<double>(values[0]) * values[2] * values[1] * values[1];
    DNAS_CHECK(bytes <= kMaxSyntheticBytes, "--data ", spec, ": ", bytes / (1 << 20), " MiB of images, more than the ",
               kMaxSyntheticBytes >> 20, " MiB accepted");
    Dataset d = make_synthetic(values[0], values[1], values[2], values[3], train ? 1234 : 4321);
    d.source = spec;
    return d;
  }
  std::error_code ec;
  if (spec == "fashion-mnist") {
    DNAS_CHECK(fs::is_directory(kFashionMnistDir, ec), "--data fashion-mnist: ", kFashionMnistDir,
               " is missing; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass "
               "mnist:DIR with its four IDX files");
    kind = "mnist";
    path = kFashionMnistDir;
  }
  DNAS_CHECK(fs::is_directory(path, ec), "--data ", spec, ": ", path, " is not a directory");
  const fs::path dir(path);
  if (kind.empty()) {
    if (fs::exists(dir / "train-images-idx3-ubyte", ec) || fs::exists(dir / "train-images-idx3-ubyte.gz", ec))
      kind = "mnist";
    else if (fs::exists(dir / "data_batch_1.bin", ec)) kind = "cifar10";
    else if (fs::exists(dir / "train.bin", ec)) kind = "cifar100";
    else kind = "folder";
  }
  Dataset d;
  if (kind == "mnist") d = load_mnist(dir, train);
  else if (kind == "cifar10") d = load_cifar(dir, train, 10);
  else if (kind == "cifar100") d = load_cifar(dir, train, 100);
  else if (kind == "folder") d = load_folder(dir, train, options, spec);
  else throw Error("--data " + spec + ": unknown dataset kind '" + kind + "' (mnist, cifar10, cifar100, folder, synthetic; or fashion-mnist)");
  d.source = spec;
  if (!d.streamed()) compute_stats(d);
  return d;
}

void write_idx_images(const std::string& path, const at::Tensor& images) {
  std::string bytes(16, '\0');
  auto put = [&bytes](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put(0, 2051);
  put(4, static_cast<uint32_t>(images.size(0)));
  put(8, static_cast<uint32_t>(images.size(1)));
  put(12, static_cast<uint32_t>(images.size(2)));
  const at::Tensor data = images.to(at::kByte).contiguous();
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(data.numel()));
  write_text_file_atomic(path, bytes);
}

void write_idx_labels(const std::string& path, const at::Tensor& labels) {
  std::string bytes(8, '\0');
  const uint32_t n = static_cast<uint32_t>(labels.size(0));
  const uint32_t header[2] = {2049, n};
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) bytes[4 * h + i] = static_cast<char>((header[h] >> (24 - 8 * i)) & 0xff);
  const at::Tensor data = labels.to(at::kByte).contiguous();
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(data.numel()));
  write_text_file_atomic(path, bytes);
}

Dataset Dataset::first(int64_t n) const {
  if (n >= size()) return *this;
  Dataset out = *this;
  if (!streamed()) {
    out.images = images.slice(0, 0, n);
    out.labels = labels.slice(0, 0, n);
    return out;
  }
  // A fixed random subset, kept in index order.
  std::vector<int64_t> pick(static_cast<size_t>(size()));
  std::iota(pick.begin(), pick.end(), 0);
  std::mt19937_64 rng(0x5eed);
  std::shuffle(pick.begin(), pick.end(), rng);
  pick.resize(static_cast<size_t>(n));
  std::sort(pick.begin(), pick.end());
  const FolderIndex& all = stream->index();
  FolderIndex subset;
  subset.root = all.root;
  subset.classes = all.classes;
  for (int64_t i : pick) {
    subset.files.push_back(all.files[static_cast<size_t>(i)]);
    subset.sizes.push_back(all.sizes[static_cast<size_t>(i)]);
    subset.labels.push_back(all.labels[static_cast<size_t>(i)]);
  }
  out.labels = at::tensor(subset.labels, at::kLong);
  out.stream = std::make_shared<const ImageStream>(std::move(subset), stream->options());
  return out;
}

at::Tensor Dataset::raw(const std::vector<int64_t>& index, uint64_t key, bool augment, bool pinned) const {
  const auto b = static_cast<int64_t>(index.size());
  if (!streamed()) {
    const at::Tensor gathered = images.index_select(0, at::tensor(index, at::kLong));
    return pinned ? gathered.pin_memory() : gathered;
  }
  const int64_t size = stream->image_size();
  at::Tensor out = at::empty({b, 3, size, size}, at::TensorOptions().dtype(at::kByte).pinned_memory(pinned));
  stream->load(index, key, augment, out.data_ptr<uint8_t>());
  return out;
}

at::Tensor Dataset::normalize(const at::Tensor& raw) const {
  const at::TensorOptions on = at::TensorOptions().dtype(at::kFloat).device(raw.device());
  const at::Tensor m = at::tensor(mean, at::kFloat).view({1, -1, 1, 1}).to(on);
  const at::Tensor s = at::tensor(std, at::kFloat).view({1, -1, 1, 1}).to(on);
  return raw.to(at::kFloat).div_(255.0).sub_(m).div_(s);
}

at::Tensor Dataset::normalized_batch(const std::vector<int64_t>& index, uint64_t key, bool augment,
                                     at::Tensor into) const {
  if (!streamed()) return normalize(raw(index, key, augment));
  const at::Tensor bytes = at::arange(256, at::kFloat).to(at::kByte).view({1, 1, 1, 256}).expand({1, 3, 1, 256});
  const at::Tensor table = normalize(bytes.contiguous()).contiguous();
  const int64_t size = stream->image_size();
  const std::vector<int64_t> shape = {static_cast<int64_t>(index.size()), 3, size, size};
  at::Tensor out = into.defined() ? into : at::empty(shape, at::kFloat);
  DNAS_ASSERT(out.sizes() == at::IntArrayRef(shape) && out.scalar_type() == at::kFloat && out.is_contiguous(),
              "normalized_batch: a buffer of the wrong shape");
  stream->load_normalized(index, key, augment, table.data_ptr<float>(), out.data_ptr<float>());
  return out;
}

at::Tensor Dataset::normalized(const at::Tensor& index) const {
  const at::Tensor i = index.to(at::kLong).contiguous();
  return normalize(raw(std::vector<int64_t>(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel()), 0, false));
}

}  // namespace dnas
