#include "train/train_config.h"

#include "common/error.h"
#include "data/data_config_fields.h"

namespace dnas {

const ConfigFields<TrainConfig>& train_config_fields() {
  using C = TrainConfig;
  static const ConfigFields<C> fields =
      ConfigFields<C>("dnas-train/1", {"dnas-recipe/1"}, {"description"})
          .text("arch", &C::arch, "Arch .json or zoo model name")
          .text("data", &C::data, "mnist:DIR, fashion-mnist, cifar10:DIR, cifar100:DIR, folder:DIR, synthetic[...]")
          .text("device", &C::device, "Where to train", {"cpu", "cuda"})
          .text("out", &C::out, "Run directory").not_compared_on_resume()
          .text("recipe", &C::recipe, "Recipe the run started from").flag_by_command()
          .integer("epochs", &C::epochs, "Epochs", Range::between(1, kMaxEpochs))
          .integer("batch_size", &C::batch_size, "Batch size (per rank when distributed; BatchNorm needs 2)",
                   Range::between(2, kMaxBatch))
          .number("lr", &C::lr, "Peak learning rate", Range::above(0))
          .number("momentum", &C::momentum, "SGD momentum", Range::between_open_max(0, 1))
          .number("weight_decay", &C::weight_decay, "Weight decay", Range::between(0, 1))
          .boolean("nesterov", &C::nesterov, "Nesterov momentum")
          .integer("warmup_epochs", &C::warmup_epochs, "Linear warm-up epochs", Range::between(0, kMaxEpochs))
          .text("schedule", &C::schedule, "Learning-rate decay after the warm-up", {"cosine", "linear"})
          .number("label_smoothing", &C::label_smoothing, "Label smoothing", Range::between_open_max(0, 1))
          .boolean("augment", &C::augment, "Data augmentation (image folders: random resized crops and flips; others: random translation, flips for natural images)")
          .integer("seed", &C::seed, "Seed of every random draw", Range::at_least(0))
          .integer("threads", &C::threads, "Intra-op threads (0: LibTorch's default)", Range::between(0, kMaxThreads))
          .text("train_layout", &C::train_layout,
                "Training layout: nhwc (channels-last, LibTorch's fast depthwise kernels) or nchw", {"nhwc", "nchw"})
          .renamed_from("memory_format")
          .with(add_data_fields<C>)  // image_size, max_samples, the image-folder settings
          .integer("checkpoint_every", &C::checkpoint_every, "Steps between mid-epoch checkpoints (0: epoch ends)",
                   Range::at_least(0))
          .integer("eval_every", &C::eval_every,
                   "Score the test split every N epochs and after the last (best.pt: the best of those scored)",
                   Range::between(1, kMaxEpochs));
  return fields;
}

void TrainConfig::validate() const {
  DNAS_CHECK(!arch.empty(), "--arch: required (a zoo name or an arch .json)");
  train_config_fields().validate(*this);
  DNAS_CHECK(warmup_epochs < epochs, "--warmup-epochs: expected 0..", epochs - 1, ", got ", warmup_epochs);
}

}  // namespace dnas
