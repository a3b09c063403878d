// An image folder read on demand: the index in memory (paths, sizes, labels), each batch decoded
// from disk by a pool of worker threads through image_pipeline.h. Memory stays at what the
// loader's prefetch queue holds (depth x batch x 3 x size x size bytes), whatever the folder's
// size.
//
// A sample's pixels depend only on (key, sample index, train): see sample_random.h.
//
// Bad images: by default the first unreadable, corrupt or truncated file stops the run with a
// dnas::Error naming it. With skip_bad_images, a bad file is counted and remembered and the batch
// takes the next good sample of the index in its place (so batches keep their size and stay
// deterministic); skipped() reports how many files were skipped.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "data/folder_index.h"
#include "data/image_pipeline.h"
#include "data/worker_pool.h"

namespace dnas {

struct StreamOptions {
  int64_t threads = 0;  // decoding threads; 0: the core count
  bool skip_bad_images = false;
  ImageTransform transform;  // size, crop scale, eval ratio; `train` is chosen per batch
};

class ImageStream {
 public:
  ImageStream(FolderIndex index, StreamOptions options);

  const FolderIndex& index() const { return index_; }
  int64_t size() const { return index_.size(); }
  int64_t image_size() const { return options_.transform.size; }
  int64_t threads() const { return threads_; }
  const StreamOptions& options() const { return options_; }

  // Decodes the samples `indices` into `out` (uint8, indices.size() x 3 x size x size, packed),
  // with the training transform when `train`, else the evaluation transform.
  void load(const std::vector<int64_t>& indices, uint64_t key, bool train, uint8_t* out) const;

  // The same, normalised on the decoding threads: `out` receives float values
  // table[c * 256 + v] for channel c's pixel value v (the dataset's normalisation of every byte).
  void load_normalized(const std::vector<int64_t>& indices, uint64_t key, bool train, const float* table,
                       float* out) const;

  // Files skipped as bad so far (skip_bad_images), each with its reason, sorted by path.
  std::vector<std::string> skipped() const;

 private:
  // One sample into `out`; throws dnas::Error naming the file when it cannot be read.
  void load_one(int64_t index, uint64_t key, bool train, uint8_t* out) const;
  // load_one, or with skip_bad_images the next good sample of the index in its place.
  void load_or_substitute(int64_t index, uint64_t key, bool train, uint8_t* out) const;

  FolderIndex index_;
  StreamOptions options_;
  int64_t threads_;
  mutable WorkerPool pool_;
  mutable std::mutex skipped_mutex_;
  mutable std::set<std::string> skipped_;
};

}  // namespace dnas
