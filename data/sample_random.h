// The random draws of one sample's augmentation, from a counter-based generator keyed by
// (key, sample index): the same sample in the same epoch draws the same numbers whichever thread
// decodes it and whenever, so batches are identical with 1 loader thread or N, and a resumed
// epoch redraws what the interrupted one drew. `key` is the loader's per-epoch order seed, itself
// derived from (seed, epoch, phase).
#pragma once

#include <cstdint>

#include "data/image_transforms.h"

namespace dnas {

class SampleRandom final : public RandomSource {
 public:
  SampleRandom(uint64_t key, int64_t index) : state_(mix(key ^ mix(static_cast<uint64_t>(index) + 0x632be59bd9b4e019ull))) {}

  float uniform(float lo, float hi) override { return lo + (hi - lo) * rand(); }
  int64_t randint(int64_t lo, int64_t hi) override {
    const auto range = static_cast<uint64_t>(hi - lo);  // callers ask for hi > lo
    return lo + static_cast<int64_t>(range == 0 ? 0 : next() % range);
  }
  // 24 random bits: every float in [0, 1) with that spacing.
  float rand() override { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

 private:
  // splitmix64: a bijective mix with good avalanche, the usual seeder of counter-based streams.
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ull); }

  uint64_t state_;
};

}  // namespace dnas
