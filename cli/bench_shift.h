// `dnas bench shift`: the shift kernel (ops/shift.h) against the same shift composed of LibTorch
// ops (zero pad, strided slices, concat), forward and forward + backward, on the feature-map
// shapes of the shift blocks, in both memory formats. Checks that the two agree bit for bit on
// the device before timing them, so on a GPU host it is also the CUDA kernel's first test.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_bench_shift(CLI::App& bench);

}  // namespace dnas::cli
