// File: models/conv.h
//
// The models' 2-D convolution: torch::nn::Conv2d, same options, parameters
// and state-dict names, whose inference on a CPU (no gradient recorded,
// float32) always runs oneDNN's convolution. LibTorch 1.13 and 2.x pick
// their own im2col + system BLAS path for one image whose map holds at
// most 20,480 values (at::native's "native is faster" rule), which on
// Debian's reference BLAS runs at a few GFLOP/s: the stride-16 layers of a
// small test scale or FocusChip at batch size 1 (docs/INFERENCE.md).
// Training, autocast, CUDA and builds without oneDNN keep LibTorch's
// choice.
//
// ForwardWithBatchNorm is a convolution and the eval-mode batch norm after
// it: on that oneDNN path one convolution whose weight and bias hold the
// batch norm (folded once, folded again when a tensor of either changes),
// which saves the batch norm's pass over the map (8% of inference time,
// docs/INFERENCE.md).
#ifndef SNIPER_MODELS_CONV_H_
#define SNIPER_MODELS_CONV_H_

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

namespace sniper::models {

class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& input);
  // Whether forward(input) calls oneDNN's convolution itself.
  bool RunsOneDnnDirectly(const torch::Tensor& input) const;
  // bn.forward(forward(input)) for `bn` in eval mode with running
  // statistics (checked), as one convolution with `bn` folded in when
  // RunsOneDnnDirectly(input): equal up to float rounding.
  torch::Tensor ForwardWithBatchNorm(const torch::Tensor& input,
                                     torch::nn::BatchNorm2dImpl& bn);

 private:
  // What a fold was made from: each tensor's identity and version counter
  // (conv weight and bias, bn weight, bias, running mean and variance).
  using FoldKey = std::vector<std::pair<const void*, int64_t>>;
  // The weight and bias with a batch norm folded in.
  struct Folded {
    FoldKey key;
    torch::Tensor weight, bias;
  };
  // oneDNN's convolution with this layer's geometry (RunsOneDnnDirectly).
  torch::Tensor RunOneDnn(const torch::Tensor& input, const torch::Tensor& w,
                          const torch::Tensor& b) const;
  // Read and replaced whole (std::atomic_load/store): concurrent forwards
  // at worst fold twice.
  std::shared_ptr<const Folded> folded_;
};
TORCH_MODULE(Conv2d);

// relu(x) (and relu6, clamp to [0, 6]), computed in place when no gradient
// is recorded: for `x` a temporary the caller owns, such as a layer's
// output. At inference this saves a map-sized allocation and write (a
// 16 x 768 x 512 channels-last map: 1.0 ms in place, 2.0-2.5 ms not).
torch::Tensor ReluOfTemporary(torch::Tensor x);
torch::Tensor Relu6OfTemporary(torch::Tensor x);
// relu(x + y), in place in x under the same rule when x + y has x's
// dtype and shape.
torch::Tensor AddReluOfTemporary(torch::Tensor x, const torch::Tensor& y);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_CONV_H_
