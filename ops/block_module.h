// The LibTorch module of any block: BlockImpl runs its plan's steps (block_plan.h) in order, with
// the weights of each conv, BN and linear step registered at the step's module path ("pw.conv",
// "pw.bn", "se.fc1", "linear"), so checkpoint keys read "layers.3.pw.conv.weight". make_block() is
// the one factory the network builder, the supernet and the profiler use. Every block maps one
// 4-D tensor to one 4-D tensor in either memory layout (NCHW or channels-last).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "ops/block_plan.h"
#include "ops/op_def.h"

namespace dnas {

// Lends a block the weights of some of its conv steps (a supernet's weight sharing between the
// candidates of a layer, supernet/shared_convs.h). A lent step registers no module of its own and
// in every forward convolves with weight(step): a tensor of the step's shape [out, in / groups,
// kernel, kernel], usually a view of a bigger shared parameter, so that its gradient reaches it.
class ConvWeightSource {
 public:
  virtual ~ConvWeightSource() = default;
  virtual bool lends(size_t step) const = 0;
  virtual torch::Tensor weight(size_t step) const = 0;
};

class BlockImpl : public torch::nn::Module {
 public:
  // `description` is what pretty_print() shows (describe_block()). The conv steps that `lent`
  // lends take their weights from it (none when it is null).
  BlockImpl(BlockPlan plan, std::string description, std::shared_ptr<const ConvWeightSource> lent = nullptr);
  torch::Tensor forward(torch::Tensor x);

  const BlockPlan& plan() const { return plan_; }
  const std::string& description() const { return description_; }
  // "Block(ir_k5_e6|in=32x56x56|out=32|s=2)": `std::cout << *module` prints it.
  void pretty_print(std::ostream& stream) const override;

 private:
  struct StepModules {
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    torch::nn::Linear linear{nullptr};
  };
  // Registers `module` at the dotted `path`, creating the intermediate modules.
  template <typename M>
  M register_at(const std::string& path, M module);

  BlockPlan plan_;
  std::string description_;
  std::shared_ptr<const ConvWeightSource> lent_;
  std::vector<StepModules> modules_;  // per step
  std::vector<bool> in_place_;        // per step: may overwrite its input (used only by it)
  std::vector<int> last_use_;         // per value: the last step that reads it
};
TORCH_MODULE(Block);

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
