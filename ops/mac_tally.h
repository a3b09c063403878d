// MacTally counts the multiply-accumulates that conv and linear modules actually execute, per
// sample, during the forward passes made while it is alive (innermost tally on this thread wins).
// Tests use it to check the analytic cost model against what the instantiated network computes.
#pragma once

#include <cstdint>

namespace dnas {

class MacTally {
 public:
  MacTally();
  ~MacTally();
  MacTally(const MacTally&) = delete;
  MacTally& operator=(const MacTally&) = delete;

  int64_t macs() const { return macs_; }

  // Called by modules; a no-op when no tally is active on this thread.
  static void record(int64_t macs_per_sample);

 private:
  MacTally* previous_;
  int64_t macs_ = 0;
};

}  // namespace dnas
