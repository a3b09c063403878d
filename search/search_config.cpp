#include "search/search_config.h"

#include <cmath>

#include "common/device.h"
#include "common/error.h"

namespace dnas {

const ConfigFields<SearchConfig>& search_config_fields() {
  using C = SearchConfig;
  static const ConfigFields<C> fields =
      ConfigFields<C>("dnas-search/1")
          .text("space", &C::space, "Search space name or .yaml")
          .text("target", &C::target, "Target whose latency table drives the loss")
          .text("db", &C::db, "Latency table (default: the target's; estimates if absent)")
          .text("data", &C::data,
                "mnist:DIR (IDX, plain or .gz), fashion-mnist, cifar10:DIR, cifar100:DIR, folder:DIR, "
                "synthetic[:N[:SIZE[:C[:CLASSES]]]]")
          .text("device", &C::device, "Where to train", {"cpu", "cuda"})
          .text("out", &C::out, "Run directory").not_compared_on_resume()
          .integer("epochs", &C::epochs, "Epochs", Range::between(1, kMaxEpochs))
          .integer("batch_size", &C::batch_size, "Batch size (per rank when distributed; BatchNorm needs 2)",
                   Range::between(2, kMaxBatch))
          .integer("warmup_epochs", &C::warmup_epochs, "Epochs with theta frozen (-1: epochs/9)",
                   Range::between(-1, kMaxEpochs))
          .text("mode", &C::mode, "soft: every candidate runs; hard: one sampled path, straight-through",
                {"soft", "hard"})
          .text("noise", &C::noise, "Gumbel noise per batch or per sample (soft mode)", {"batch", "sample"})
          .text("schedule", &C::schedule, "Temperature schedule", {"exp", "linear"})
          .number("tau0", &C::tau0, "Initial temperature", Range::above_to(0, 1000))
          .number("tau_decay", &C::tau_decay, "Per-epoch factor of the exp schedule", Range::above_to(0, 1))
          .number("tau_min", &C::tau_min, "Final temperature of the linear schedule", Range::above_to(0, 1000))
          .number("lr_w", &C::lr_w, "SGD learning rate of the weights", Range::above(0))
          .number("momentum", &C::momentum, "SGD momentum of the weights", Range::between_open_max(0, 1))
          .number("weight_decay", &C::weight_decay, "SGD weight decay of the weights", Range::between(0, 1))
          .number("lr_theta", &C::lr_theta, "Adam learning rate of theta", Range::above(0))
          .number("theta_weight_decay", &C::theta_weight_decay, "Adam weight decay of theta", Range::between(0, 1))
          .number("alpha", &C::alpha, "alpha in CE * alpha * (log LAT)^beta", Range::above_to(0, 1000))
          .number("beta", &C::beta, "beta in CE * alpha * (log LAT)^beta", Range::above_to(0, 100))
          .number("latency_target_ms", &C::latency_target_ms, "Latency budget in ms (0: none)", Range::between(0, 1e9))
          .number("latency_penalty", &C::latency_penalty, "Weight of the budget penalty", Range::between(0, 1e6))
          .number("w_fraction", &C::w_fraction, "Fraction of the training set for w (the rest trains theta)",
                  Range::open(0, 1))
          .integer("seed", &C::seed, "Seed of every random draw", Range::at_least(0))
          .integer("threads", &C::threads, "Intra-op threads (0: LibTorch's default)", Range::between(0, kMaxThreads))
          .text("precision", &C::precision, "fp32, or bf16 (CUDA autocast; weights stay fp32)", {"fp32", "bf16"})
          .text("memory_format", &C::memory_format,
                "Training layout: nhwc (channels-last, LibTorch's fast depthwise kernels) or nchw", {"nhwc", "nchw"})
          .integer("image_size", &C::image_size, "Image size for folder datasets", Range::between(1, kMaxImageSize))
          .integer("max_samples", &C::max_samples, "Use only the first N training images (0: all)", Range::at_least(0))
          .boolean("estimate_missing", &C::estimate_missing, "Fill missing table rows with labelled estimates")
          .integer("checkpoint_every", &C::checkpoint_every, "Steps between mid-epoch checkpoints (0: epoch ends)",
                   Range::at_least(0));
  return fields;
}

int64_t SearchConfig::resolved_warmup() const {
  if (warmup_epochs >= 0) return warmup_epochs;
  return epochs <= 1 ? 0 : std::max<int64_t>(1, std::llround(static_cast<double>(epochs) / 9.0));
}

void SearchConfig::validate() const {
  search_config_fields().validate(*this);
  DNAS_CHECK(resolved_warmup() < epochs, "--warmup-epochs: ", resolved_warmup(), " leaves no epoch to train theta in ",
             epochs, " epochs");
  DNAS_CHECK(!(noise == "sample" && mode == "hard"), "--noise sample: per-sample noise needs --mode soft");
  DNAS_CHECK(precision == "fp32" || device == "cuda", "--precision ", precision,
             ": mixed precision is for --device cuda (CPU searches run fp32)");
}

}  // namespace dnas
