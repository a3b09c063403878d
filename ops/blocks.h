// LibTorch modules for every registered op, built from the plans in block_plan.h, and
// make_block(), the one factory the network builder and the supernet use. Submodule names are
// stable ("pw", "dw", "pwl", "proj", "squeeze", "expand1x1", "expand3x3", "conv", "bn", "linear")
// because they become checkpoint keys. Every module maps one NCHW tensor to one NCHW tensor.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "ops/block_plan.h"
#include "ops/op_def.h"

namespace dnas {

// conv -> [BN] -> [ReLU | ReLU6]. Records its MACs into an active MacTally.
class ConvNormActImpl : public torch::nn::Module {
 public:
  explicit ConvNormActImpl(const ConvPlan& plan);
  torch::Tensor forward(torch::Tensor x);
  const ConvPlan& plan() const { return plan_; }

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};

 private:
  ConvPlan plan_;
};
TORCH_MODULE(ConvNormAct);

// The ShiftNet shift (ops/shift.h): channels split evenly over the kernel x kernel directions
// (the first C mod k^2 directions take one extra channel), each group moved by its offset with
// zero padding, then subsampled by `stride`. Pure data movement: no parameters, no multiply-adds.
class ShiftImpl : public torch::nn::Module {
 public:
  ShiftImpl(int64_t channels, int64_t kernel, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  int64_t channels_;
  int64_t kernel_;
  int64_t stride_;
};
TORCH_MODULE(Shift);

class InvertedResidualImpl : public torch::nn::Module {
 public:
  explicit InvertedResidualImpl(const InvertedResidualPlan& plan);
  torch::Tensor forward(torch::Tensor x);

 private:
  InvertedResidualPlan plan_;
  ConvNormAct pw{nullptr}, dw{nullptr}, pwl{nullptr};
};
TORCH_MODULE(InvertedResidual);

class SkipBlockImpl : public torch::nn::Module {
 public:
  explicit SkipBlockImpl(const SkipPlan& plan);
  torch::Tensor forward(torch::Tensor x);

 private:
  ConvNormAct proj{nullptr};
};
TORCH_MODULE(SkipBlock);

class ShiftBlockImpl : public torch::nn::Module {
 public:
  explicit ShiftBlockImpl(const ShiftPlan& plan);
  torch::Tensor forward(torch::Tensor x);

 private:
  bool residual_;
  ConvNormAct pw{nullptr};
  Shift shift{nullptr};
  ConvNormAct pwl{nullptr};
};
TORCH_MODULE(ShiftBlock);

class FireImpl : public torch::nn::Module {
 public:
  explicit FireImpl(const FirePlan& plan);
  torch::Tensor forward(torch::Tensor x);

 private:
  ConvNormAct squeeze{nullptr}, expand1x1{nullptr}, expand3x3{nullptr};
};
TORCH_MODULE(Fire);

// fc over a N x C x 1 x 1 map; returns N x out x 1 x 1 so every block stays NCHW.
class FullyConnectedImpl : public torch::nn::Module {
 public:
  FullyConnectedImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(FullyConnected);

// Builds the module for `op` at `args`. Throws dnas::Error for arguments that cannot work.
torch::nn::AnyModule make_block(const OpDef& op, const BlockArgs& args);

// Stores every 4-D parameter (convolution weights) channels-last (NHWC in memory), so that with
// channels-last inputs LibTorch picks its NHWC kernels. The blocks handle either layout.
void use_channels_last(torch::nn::Module& module);

// `x` (4-D) with channels-last strides. Unlike x.contiguous(ChannelsLast), this also restrides
// tensors that are ambiguous (1x1 kernels, depthwise weights, one-channel images): those count as
// already contiguous in both layouts, but LibTorch picks kernels from the strides, and NCHW
// strides there select its slow NCHW convolution paths.
at::Tensor to_channels_last(const at::Tensor& x);

}  // namespace dnas
