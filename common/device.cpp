#include "common/device.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

#include "common/error.h"

namespace dnas {

void check_device(const std::string& device, const std::string& dtype, const std::string& where) {
  DNAS_CHECK(device == "cpu" || device == "cuda", where, ": expected device cpu or cuda, got '", device, "'");
  if (device == "cuda")
    DNAS_CHECK(torch::cuda::is_available(), where,
               ": cuda requested, but no CUDA device is available (this LibTorch ",
               at::detail::getCUDAHooks().hasCUDA() ? "sees no GPU" : "is built without CUDA", ")");
  if (device == "cpu")
    DNAS_CHECK(dtype != "fp16", where, ": fp16 is not supported on CPU; use fp32 or bf16");
}

bool channels_last_format(const std::string& memory_format, const std::string& flag) {
  DNAS_CHECK(memory_format == "nhwc" || memory_format == "nchw", flag, ": expected nhwc or nchw, got '",
             memory_format, "'");
  return memory_format == "nhwc";
}

}  // namespace dnas
