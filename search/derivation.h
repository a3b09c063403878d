// After the search: the derived architecture (the argmax of theta per layer), scored through the
// supernet on the theta split, and written as <run>/arch.json with its provenance (space, target,
// theta, the probabilities, the table latency of every layer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "latency_lut/latency_table.h"
#include "supernet/supernet.h"

namespace dnas {

// Top-1 accuracy of the fixed architecture `sample` run through the supernet on `split` of
// `data`. BatchNorm uses batch statistics: the running statistics were gathered on the mixture of
// every candidate, which a single path does not reproduce.
double supernet_accuracy(Supernet& net, const ArchSample& sample, const Dataset& data, const std::vector<int64_t>& split,
                         int64_t batch_size, uint64_t order_seed, bool channels_last);

}  // namespace dnas
