// The augmentation of in-memory datasets (MNIST, CIFAR, synthetic) for training: random
// translation by up to `pad` pixels with zero fill, per sample, and horizontal flips with
// probability 1/2. Draws from the global generator (callers seed it per step).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "data/dataset.h"

namespace dnas {

at::Tensor augment(const at::Tensor& images, int64_t pad, bool flip);

// The usual augmentation for a dataset: 2 pixels for digits, 1 for synthetic data, 4 and flips
// for natural images.
int64_t augment_padding(const Dataset& data);
bool augment_flips(const Dataset& data);

}  // namespace dnas
