#include "data/binary_formats.h"

#include "common/checked_math.h"
#include "common/error.h"
#include "common/limits.h"

namespace dnas {
namespace {

uint32_t read_be32(const std::string& bytes, size_t offset) {
  return (uint32_t(uint8_t(bytes[offset])) << 24) | (uint32_t(uint8_t(bytes[offset + 1])) << 16) |
         (uint32_t(uint8_t(bytes[offset + 2])) << 8) | uint32_t(uint8_t(bytes[offset + 3]));
}

}  // namespace

IdxImages parse_idx_images(const std::string& bytes, const std::string& path) {
  DNAS_CHECK(bytes.size() >= IdxImages::kHeaderBytes && read_be32(bytes, 0) == 2051, path,
             ": not an IDX image file (expected magic 2051)");
  IdxImages idx;
  idx.count = read_be32(bytes, 4);
  idx.rows = read_be32(bytes, 8);
  idx.cols = read_be32(bytes, 12);
  DNAS_CHECK(idx.count >= 1 && idx.rows >= 1 && idx.cols >= 1, path, ": no images (", idx.count, " of ", idx.rows, "x",
             idx.cols, ")");
  DNAS_CHECK(idx.rows <= kMaxInputSize && idx.cols <= kMaxInputSize, path, ": images of ", idx.rows, "x", idx.cols,
             ", more than the ", kMaxInputSize, " pixels per side accepted");
  const int64_t expected =
      checked_add(checked_product({idx.count, idx.rows, idx.cols}, "an IDX file's size"), 16, "an IDX file's size");
  DNAS_CHECK(static_cast<int64_t>(bytes.size()) == expected, path, ": expected ", idx.count, " images of ", idx.rows,
             "x", idx.cols, " (", expected, " bytes), file has ", bytes.size(), " bytes");
  return idx;
}

void check_idx_labels(const std::string& bytes, const std::string& path, int64_t expected_count, int64_t classes) {
  DNAS_CHECK(bytes.size() >= kIdxLabelHeaderBytes && read_be32(bytes, 0) == 2049, path,
             ": not an IDX label file (expected magic 2049)");
  const int64_t count = read_be32(bytes, 4);
  DNAS_CHECK(count == expected_count, path, ": ", count, " labels for ", expected_count, " images");
  DNAS_CHECK(static_cast<int64_t>(bytes.size()) == static_cast<int64_t>(kIdxLabelHeaderBytes) + count, path,
             ": truncated (expected ", kIdxLabelHeaderBytes + count, " bytes)");
  for (size_t i = kIdxLabelHeaderBytes; i < bytes.size(); ++i) {
    const int label = static_cast<uint8_t>(bytes[i]);
    DNAS_CHECK(label < classes, path, ": label ", label, " is outside 0..", classes - 1, " (mislabelled data?)");
  }
}

int64_t cifar_record_count(const std::string& bytes, const std::string& path, int classes) {
  const int64_t label_bytes = cifar_label_bytes(classes), record = label_bytes + kCifarImageBytes;
  DNAS_CHECK(!bytes.empty() && static_cast<int64_t>(bytes.size()) % record == 0, path, ": size ", bytes.size(),
             " is not a multiple of the ", record, "-byte CIFAR-", classes, " record (truncated or wrong format?)");
  const int64_t n = static_cast<int64_t>(bytes.size()) / record;
  for (int64_t i = 0; i < n; ++i) {
    const int label = static_cast<uint8_t>(bytes[static_cast<size_t>(i * record + label_bytes - 1)]);
    DNAS_CHECK(label < classes, path, ": label ", label, " is outside 0..", classes - 1, " (mislabelled data?)");
  }
  return n;
}

}  // namespace dnas
