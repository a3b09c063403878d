// The layouts of the binary dataset files, checked before a byte is read as an image: MNIST-style
// IDX (images: magic 2051, count, rows, cols, then count x rows x cols bytes; labels: magic 2049,
// count, then count bytes) and CIFAR's records (CIFAR-10: 1 label byte + 3,072 image bytes;
// CIFAR-100: coarse and fine label bytes + 3,072). Torch-free, so the fuzz targets (tests/fuzz/)
// reach them. Every mismatch is a dnas::Error "<path>: ..." naming what was expected.
#pragma once

#include <cstdint>
#include <string>

namespace dnas {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  static constexpr size_t kHeaderBytes = 16;
};
// Validates the header and that the file holds exactly the images it announces (sizes are
// checked for overflow: a header of 2^32-1 x 2^32-1 x 2^32-1 is an error, not a wrapped length).
IdxImages parse_idx_images(const std::string& bytes, const std::string& path);

// Validates a label file announcing exactly `expected_count` labels (each < `classes`).
constexpr size_t kIdxLabelHeaderBytes = 8;
void check_idx_labels(const std::string& bytes, const std::string& path, int64_t expected_count, int64_t classes);

// The number of records in one CIFAR binary file (10 or 100 classes), after checking its size
// and every label.
int64_t cifar_record_count(const std::string& bytes, const std::string& path, int classes);
constexpr int64_t kCifarImageBytes = 3 * 32 * 32;
inline int64_t cifar_label_bytes(int classes) { return classes == 10 ? 1 : 2; }

}  // namespace dnas
