// The largest sizes dnas accepts in arch, space and data specs. Far above any real network (FBNet
// tops out at 1,984 channels and 224 pixels), they keep a typo or a hostile file from asking for
// terabytes or looping for years; an error names the limit it hit.
#pragma once

#include <cstdint>

namespace dnas {

constexpr int64_t kMaxChannels = 65536;      // per layer, and input channels
constexpr int64_t kMaxInputSize = 8192;      // pixels per side
constexpr int64_t kMaxClasses = 1000000;
constexpr int64_t kMaxStageRepeats = 1000;   // layers per stage of a space
constexpr int64_t kMaxLayers = 10000;        // layers in an arch or space, all sections
constexpr int64_t kMaxStride = 64;
constexpr int64_t kMaxPadding = 1024;

}  // namespace dnas
