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
#ifndef SNIPER_MODELS_CONV_H_
#define SNIPER_MODELS_CONV_H_

#include <torch/torch.h>

namespace sniper::models {

class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& input);
  // Whether forward(input) calls oneDNN's convolution itself.
  bool RunsOneDnnDirectly(const torch::Tensor& input) const;
};
TORCH_MODULE(Conv2d);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_CONV_H_
