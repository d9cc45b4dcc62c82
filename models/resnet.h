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
#include "models/sync_batch_norm.h"

namespace sniper::models {

struct ResNetOptions {
  int depth = 50;                 // 18, 34, 50 or 101
  double width_multiplier = 1.0;  // channels scaled (at least 8 per layer)
  bool freeze_stem_and_layer1 = true;
  bool freeze_all_bn = false;
  bool res5_dilation = true;  // layer4: stride 1, dilation 2 (Bottleneck)
  bool channels_last = false;
  // 4: res2..res5; 3: stop after res4 (layer4 is not built), for detectors
  // that take stride-16 features from res4.
  int stages = 4;
  // layer4 is built (stride 2, no dilation) but forward() stops at res4;
  // RunRes5() applies it, e.g. to RoI features (the classic C4 RCNN head).
  bool res5_as_head = false;
};

// Validates options; InvalidArgument naming the field (under `path`)
// otherwise.
absl::Status ValidateResNetOptions(const ResNetOptions& options,
                                   const std::string& path = "ResNetOptions");

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options);

  std::map<std::string, torch::Tensor> forward(torch::Tensor x);

  // layer4 on `x` (a res4-shaped input, e.g. pooled RoIs); needs
  // res5_as_head.
  torch::Tensor RunRes5(torch::Tensor x);

  // Keeps frozen parts in eval mode.
  void train(bool on = true) override;

  // Synchronized batch norm (models/sync_batch_norm.h) for every BN layer
  // of this backbone while training; an empty function turns it off.
  void SetBatchNormSync(AllReduceSum all_reduce);
  // In eval mode, every BN layer that trained normalises with the batch's
  // own statistics (models/sync_batch_norm.h; a diagnostic, off by
  // default); frozen ones keep their running statistics, as in training.
  void SetEvalBatchStatistics(bool on);

  const ResNetOptions& options() const { return options_; }
  // Output channels and stride of "res2".."res5".
  int64_t channels(const std::string& level) const;
  int64_t stride(const std::string& level) const;

 private:
  ResNetOptions options_;
  torch::nn::Conv2d conv1_{nullptr};
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

// Loads a state dict saved by PyTorch's torch.save (zip format) into
// `module`: every backbone parameter and buffer must be present with the
// right shape; extra entries (fc.*) are ignored and counted. Errors name the
// file and the entry. Reads model.state_dict() as saved (an OrderedDict) and
// checkpoints holding it under "state_dict" or "model" (models/state_dict.h).
absl::Status LoadTorchvisionStateDict(const std::string& path,
                                      torch::nn::Module& module,
                                      int64_t* ignored_entries = nullptr);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_RESNET_H_
