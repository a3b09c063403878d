#include "ops/mac_tally.h"

namespace dnas {
namespace {
thread_local MacTally* active_tally = nullptr;
}

MacTally::MacTally() : previous_(active_tally) { active_tally = this; }
MacTally::~MacTally() { active_tally = previous_; }

void MacTally::record(int64_t macs_per_sample) {
  if (active_tally != nullptr) active_tally->macs_ += macs_per_sample;
}

}  // namespace dnas
