// File: models/resnet.h
//
// ResNet-18/34/50/101 backbones (He et al. 2016) for SNIPER (SNIPER.md
// section 6), as LibTorch modules whose parameter and buffer names follow
// torchvision's ResNet (conv1, bn1, layer1.0.conv1, ..., downsample.0/1), so
// torchvision checkpoints load (LoadTorchvisionStateDict). The classifier
// (fc) is not part of the backbone.
//
// Options: a width multiplier (a narrow ResNet small enough to train on two
// CPU cores), the stem and layer1 frozen (weights fixed, their BN in eval
// mode whatever train() says), every BN frozen, res5 (layer4) with stride 1
// and dilation 2 so features stay at stride 16 (Bottleneck only, as in
// torchvision), channels-last memory format.
//
// forward(x) returns {"res2", "res3", "res4", "res5"} features ("res5"
// only with 4 stages); strides and channels are reported by stride() and
// channels().
#ifndef SNIPER_MODELS_RESNET_H_
#define SNIPER_MODELS_RESNET_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "models/backbone.h"
#include "models/conv.h"
#include "models/sync_batch_norm.h"

namespace sniper::models {

class ResNetImpl : public BackboneImpl {
 public:
  explicit ResNetImpl(const BackboneOptions& options);

  std::map<std::string, torch::Tensor> forward(torch::Tensor x);

  // BackboneImpl: res5 (layer4) or res4 (layer3); RunHead is layer4.
  torch::Tensor Features(torch::Tensor images) override;
  int64_t feature_channels() const override;
  int64_t feature_stride() const override { return stride(feature_level()); }
  torch::Tensor RunHead(torch::Tensor x) override;
  int64_t head_channels() const override;
  void SetBatchNormSync(AllReduceSum all_reduce) override;
  void SetEvalBatchStatistics(bool on) override;
  const BackboneOptions& options() const override { return options_; }

  // Keeps frozen parts in eval mode.
  void train(bool on = true) override;

  // Output channels and stride of "res2".."res5".
  int64_t channels(const std::string& level) const;
  int64_t stride(const std::string& level) const;

 private:
  std::string feature_level() const;

  BackboneOptions options_;
  Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr},
      layer4_{nullptr};
  std::map<std::string, int64_t> channels_, strides_;
  // Shared with every block; set by SetBatchNormSync. Frozen stem and
  // layer1 (always in eval mode) hold frozen_sync_, which stays empty.
  std::shared_ptr<BatchNormSync> bn_sync_ = std::make_shared<BatchNormSync>();
  std::shared_ptr<BatchNormSync> frozen_sync_ =
      std::make_shared<BatchNormSync>();
};
TORCH_MODULE(ResNet);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_RESNET_H_
