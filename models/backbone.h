// File: models/backbone.h
//
// What FasterRcnn needs from a backbone (models/faster_rcnn.h): stride-16
// features of a chip batch, and, for the C4 head, the last stage applied to
// RoI features. Two implementations: ResNet-18/34/50/101 (models/resnet.h)
// and MobileNetV2 (models/mobilenet_v2.h), both with torchvision's parameter
// names so its ImageNet checkpoints load (LoadTorchvisionStateDict).
//
// The options are shared: each backbone reads those that apply to it.
// "res4" is the trunk up to stride 16 (ResNet: layer3; MobileNetV2:
// features.0-13) and "res5" the stage after it (ResNet: layer4;
// MobileNetV2: features.14-18, the 160- and 320-channel blocks and the
// 1280-channel 1x1 convolution).
#ifndef SNIPER_MODELS_BACKBONE_H_
#define SNIPER_MODELS_BACKBONE_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "models/sync_batch_norm.h"

namespace sniper::models {

enum class BackboneType { kResNet, kMobileNetV2 };

struct BackboneOptions {
  BackboneType type = BackboneType::kResNet;
  int depth = 50;  // ResNet: 18, 34, 50 or 101; MobileNetV2: unused
  // Channels scaled (ResNet: at least 8 per layer; MobileNetV2: rounded to
  // multiples of 8 as torchvision's width_mult).
  double width_multiplier = 1.0;
  // Weights fixed and batch norm in eval mode for everything at stride <= 4
  // (ResNet: stem and layer1; MobileNetV2: features.0-3).
  bool freeze_stem_and_layer1 = true;
  bool freeze_all_bn = false;
  // res5 with stride 1 and dilation 2 (features stay at stride 16); ResNet
  // only with Bottleneck blocks (depth >= 50), as torchvision.
  bool res5_dilation = true;
  bool channels_last = false;
  // 4: res5 is built; 3: the backbone stops after res4 (features at stride
  // 16 from res4: res5 would cost compute and get no gradient).
  int stages = 4;
  // res5 is built (stride 2, no dilation) but Features() stops at res4;
  // RunHead() applies it, e.g. to pooled RoIs (the classic C4 head).
  bool res5_as_head = false;
};

// Validates options for their backbone type; InvalidArgument naming the
// field (under `path`) otherwise.
absl::Status ValidateBackboneOptions(
    const BackboneOptions& options,
    const std::string& path = "BackboneOptions");

class BackboneImpl : public torch::nn::Module {
 public:
  // The features the detector reads, at stride 16: res5 when it is built
  // and not the head, else res4.
  virtual torch::Tensor Features(torch::Tensor images) = 0;
  virtual int64_t feature_channels() const = 0;
  virtual int64_t feature_stride() const = 0;
  // res5 on `x` (res4-shaped, e.g. pooled RoIs); needs res5_as_head.
  virtual torch::Tensor RunHead(torch::Tensor x) = 0;
  virtual int64_t head_channels() const = 0;
  // Synchronized batch norm (models/sync_batch_norm.h) for every BN layer
  // that trains; an empty function turns it off.
  virtual void SetBatchNormSync(AllReduceSum all_reduce) = 0;
  // In eval mode, every BN layer that trained normalises with the batch's
  // own statistics (a diagnostic, off by default); frozen ones keep their
  // running statistics, as in training.
  virtual void SetEvalBatchStatistics(bool on) = 0;
  virtual const BackboneOptions& options() const = 0;
};

// Loads a state dict saved by PyTorch's torch.save (zip format) into
// `module` (a backbone, with torchvision's names): every parameter and
// buffer must be present with the right shape; extra entries (fc.*,
// classifier.*, stages not built) are ignored and counted. Errors name the
// file and the entry. Reads model.state_dict() as saved (an OrderedDict)
// and checkpoints holding it under "state_dict" or "model"
// (models/state_dict.h).
absl::Status LoadTorchvisionStateDict(const std::string& path,
                                      torch::nn::Module& module,
                                      int64_t* ignored_entries = nullptr);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_BACKBONE_H_
