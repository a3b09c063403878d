#include "data/image_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "data/sample_random.h"

namespace dnas {

namespace {

int64_t resolve_threads(int64_t threads) {
  if (threads > 0) return threads;
  return std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
}
}  // namespace

ImageStream::ImageStream(FolderIndex index, StreamOptions options)
    : index_(std::move(index)), options_(options), threads_(resolve_threads(options.threads)),
      // The thread asking for a batch decodes too, so the pool holds one fewer.
      pool_(threads_ - 1) {}

namespace {

// The whole of a regular file into `bytes` (reused between calls: no allocation, no copies);
// errors name the file.
void read_image_file(const std::string& path, std::string& bytes) {
  // O_NONBLOCK: a FIFO put where an image was is refused below instead of blocking the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxReadBytes) {
    const std::string why = !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 1 GiB";
    ::close(fd);
    throw Error(path + ": cannot read file (" + why + ")");
  }
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the file shrank: decode what there is (a truncated image is an error there)
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
}

}  // namespace

void ImageStream::load_one(int64_t index, uint64_t key, bool train, uint8_t* out) const {
  const std::string path = index_.path(index);
  ImageTransform transform = options_.transform;
  transform.train = train;
  SampleRandom random(key, index);
  thread_local std::string bytes;
  read_image_file(path, bytes);
  load_transformed(bytes, path, transform, random, out);
}

void ImageStream::load_or_substitute(int64_t index, uint64_t key, bool train, uint8_t* out) const {
  if (!options_.skip_bad_images) return load_one(index, key, train, out);
  // The next sample of the index stands in for a bad one; a folder with no good image fails.
  for (int64_t tries = 0; tries < size(); ++tries, index = (index + 1) % size()) {
    try {
      return load_one(index, key, train, out);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(skipped_mutex_);
      skipped_.insert(e.what());
    }
  }
  throw Error(index_.root + ": no image of the folder could be read (--skip-bad-images skipped them all)");
}

void ImageStream::load(const std::vector<int64_t>& indices, uint64_t key, bool train, uint8_t* out) const {
  const int64_t sample_bytes = 3 * image_size() * image_size();
  pool_.parallel_for(static_cast<int64_t>(indices.size()), [&](int64_t i) {
    load_or_substitute(indices[static_cast<size_t>(i)], key, train, out + i * sample_bytes);
  });
}

void ImageStream::load_normalized(const std::vector<int64_t>& indices, uint64_t key, bool train, const float* table,
                                  float* out) const {
  const int64_t plane = image_size() * image_size(), sample_values = 3 * plane;
  pool_.parallel_for(static_cast<int64_t>(indices.size()), [&](int64_t i) {
    thread_local std::vector<uint8_t> pixels;
    pixels.resize(static_cast<size_t>(sample_values));
    load_or_substitute(indices[static_cast<size_t>(i)], key, train, pixels.data());
    float* target = out + i * sample_values;
    for (int64_t c = 0; c < 3; ++c) {
      const float* lut = table + c * 256;
      const uint8_t* p = pixels.data() + c * plane;
      float* q = target + c * plane;
      for (int64_t k = 0; k < plane; ++k) q[k] = lut[p[k]];
    }
  });
}

std::vector<std::string> ImageStream::skipped() const {
  std::lock_guard<std::mutex> lock(skipped_mutex_);
  return {skipped_.begin(), skipped_.end()};
}

}  // namespace dnas
