#include "data/augment.h"

#include <ATen/ATen.h>

#include <vector>

namespace dnas {

at::Tensor augment(const at::Tensor& x, int64_t pad, bool flip) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  at::Tensor out = x;
  if (pad > 0) {
    const at::Tensor padded = at::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
    const at::Tensor offsets = at::randint(0, 2 * pad + 1, {n, 2}, at::kLong).contiguous();
    const int64_t* o = offsets.data_ptr<int64_t>();
    std::vector<at::Tensor> crops;
    crops.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) crops.push_back(padded[i].narrow(1, o[2 * i], h).narrow(2, o[2 * i + 1], w));
    out = at::stack(crops);
  }
  if (flip) out = at::where((at::rand({n, 1, 1, 1}, out.options()) < 0.5), out.flip({3}), out);
  return out;
}

int64_t augment_padding(const Dataset& data) { return data.name == "mnist" ? 2 : data.name == "synthetic" ? 1 : 4; }

bool augment_flips(const Dataset& data) {
  return data.name == "cifar10" || data.name == "cifar100" || data.name == "folder";
}

}  // namespace dnas
