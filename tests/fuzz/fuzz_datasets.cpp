// The binary dataset layouts read before any tensor is made: the first byte picks IDX images, IDX
// labels (3 expected), CIFAR-10 or CIFAR-100 records; the rest is the file.
#include "data/binary_formats.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0] % 4;
  return dnas::fuzz::run_one(data + 1, size - 1, [kind](const std::string& bytes) {
    if (kind == 0) {
      const dnas::IdxImages idx = dnas::parse_idx_images(bytes, "fuzz-images-idx3-ubyte");
      // What load_mnist then reads: every pixel must lie inside the file.
      const size_t last = dnas::IdxImages::kHeaderBytes + static_cast<size_t>(idx.count * idx.rows * idx.cols) - 1;
      if (last >= bytes.size()) __builtin_trap();
    } else if (kind == 1) {
      dnas::check_idx_labels(bytes, "fuzz-labels-idx1-ubyte", 3, 10);
    } else {
      const int classes = kind == 2 ? 10 : 100;
      const int64_t n = dnas::cifar_record_count(bytes, "fuzz.bin", classes);
      if (n * (dnas::cifar_label_bytes(classes) + dnas::kCifarImageBytes) != static_cast<int64_t>(bytes.size()))
        __builtin_trap();
    }
  });
}
