// File: models/mobilenet_v2.h
//
// MobileNetV2 (Sandler et al. 2018) as a SNIPER backbone: inverted residual
// blocks (1x1 expansion, 3x3 depthwise, linear 1x1 projection, ReLU6),
// with torchvision's parameter and buffer names (features.0.0.weight,
// features.1.conv.0.0.weight, ..., features.18.1.running_var), so its
// ImageNet checkpoint (mobilenet_v2-b0353104.pth, or a model's
// state_dict()) loads with LoadTorchvisionStateDict; the classifier is not
// part of the backbone.
//
// Levels (models/backbone.h): res4 = features.0-13 (stride 16, 96 x width
// channels), res5 = features.14-18 (the 160- and 320-channel blocks and
// the 1x1 convolution to 1280 x max(1, width) channels): stride 32, or
// stride 16 with res5_dilation (stride 1, the blocks after the first with
// dilation 2, as ResNet's layer4), or applied to RoIs with res5_as_head.
// The reference SNIPER's MobileNetV2 detector reads the stride-32 1280
// channels; here the detector's anchors and valid ranges are set for
// stride 16, so res5 is dilated by default (docs/MODELS.md).
//
// Batch norm trains unless frozen: freeze_stem_and_layer1 fixes features.0-3
// (everything at stride <= 4, the analogue of ResNet's stem and layer1),
// freeze_all_bn every BN layer.
#ifndef SNIPER_MODELS_MOBILENET_V2_H_
#define SNIPER_MODELS_MOBILENET_V2_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "models/backbone.h"
#include "models/conv.h"
#include "models/sync_batch_norm.h"

namespace sniper::models {

// torchvision's _make_divisible: `v` rounded to the nearest multiple of
// `divisor` (at least `divisor`), never below 90% of `v`.
int64_t MakeDivisible(double v, int64_t divisor = 8);

class MobileNetV2LayerImpl;

class MobileNetV2Impl : public BackboneImpl {
 public:
  explicit MobileNetV2Impl(const BackboneOptions& options);

  // features.0-13 (stride 16).
  torch::Tensor Trunk(torch::Tensor x);
  // features.14-18 on a trunk output (needs stages = 4).
  torch::Tensor Tail(torch::Tensor x);

  torch::Tensor Features(torch::Tensor images) override;
  int64_t feature_channels() const override;
  int64_t feature_stride() const override;
  torch::Tensor RunHead(torch::Tensor x) override;
  int64_t head_channels() const override;
  void SetBatchNormSync(AllReduceSum all_reduce) override;
  void SetEvalBatchStatistics(bool on) override;
  const BackboneOptions& options() const override { return options_; }

  // Keeps frozen parts in eval mode.
  void train(bool on = true) override;

  // Channels of res4 (features.13) and res5 (features.18).
  int64_t trunk_channels() const { return trunk_channels_; }
  int64_t tail_channels() const { return tail_channels_; }

 private:
  torch::Tensor Run(torch::Tensor x, size_t begin, size_t end);

  BackboneOptions options_;
  std::shared_ptr<torch::nn::Module> features_;
  std::vector<std::shared_ptr<MobileNetV2LayerImpl>> layers_;
  int64_t trunk_channels_ = 0, tail_channels_ = 0;
  std::shared_ptr<BatchNormSync> bn_sync_ = std::make_shared<BatchNormSync>();
  std::shared_ptr<BatchNormSync> frozen_sync_ =
      std::make_shared<BatchNormSync>();
};
TORCH_MODULE(MobileNetV2);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_MOBILENET_V2_H_
