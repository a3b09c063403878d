// `dnas bench loader`: how fast the data loader delivers batches of a dataset (images/s, per
// decoding thread) and the most memory it held (peak RSS), with the training or the evaluation
// transform. bench/loader.sh runs it beside torchvision's ImageFolder + PIL DataLoader.
#pragma once

namespace CLI {
class App;
}

namespace dnas::cli {

void add_bench_loader(CLI::App& bench);

}  // namespace dnas::cli
