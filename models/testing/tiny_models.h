// File: models/testing/tiny_models.h
//
// The smallest Faster R-CNN that still has every part (a ResNet-18 at an
// eighth of its width, narrow RPN and RCNN heads): fast enough for unit
// tests of code around the model (checkpoints, the train step); a larger
// one and the head / backbone cases for tests of the model. Test-only.
#ifndef SNIPER_MODELS_TESTING_TINY_MODELS_H_
#define SNIPER_MODELS_TESTING_TINY_MODELS_H_

#include <string>
#include <utility>
#include <vector>

#include "models/faster_rcnn.h"

namespace sniper::models::testing {

inline FasterRcnnOptions TinyFasterRcnnOptions() {
  FasterRcnnOptions o;
  o.backbone.depth = 18;
  o.backbone.width_multiplier = 0.125;
  o.backbone.freeze_stem_and_layer1 = false;
  o.num_classes = 3;
  o.rpn_channels = 16;
  o.rcnn_reduce_channels = 16;
  o.rcnn_fc_channels = 32;
  o.train_proposals = {300, 32, 0.7, 0.0};
  o.rcnn_targets.batch_size = 32;
  return o;
}

// A narrow ResNet-18 (res4 at stride 16), or a MobileNetV2 at a quarter
// width (dilated res5, or res5 as the C4 head): small enough for tests of
// the model itself that train it a few dozen steps.
inline FasterRcnnOptions SmallFasterRcnnOptions(
    bool rpn_only = false, RcnnHead head = RcnnHead::kTwoFc,
    BackboneType backbone = BackboneType::kResNet) {
  FasterRcnnOptions o = TinyFasterRcnnOptions();  // its depth and classes
  o.head = head;
  o.backbone.type = backbone;
  if (head == RcnnHead::kC4) {
    o.roi_align.pooled_height = o.roi_align.pooled_width = 14;
  }
  o.backbone.width_multiplier = 0.25;
  o.rpn_channels = 64;
  o.rcnn_reduce_channels = 32;
  o.rcnn_fc_channels = 128;
  o.rpn_only = rpn_only;
  o.train_proposals = {600, 64, 0.7, 0.0};
  o.test_proposals = {600, 64, 0.7, 0.0};
  o.rcnn_targets.batch_size = 64;
  return o;
}

// One 128x128 chip: two coloured squares (classes 0 and 2) on grey, and an
// ignore region over a third shape.
inline std::pair<torch::Tensor, ChipTargets> OneChip() {
  torch::Tensor img = torch::full({1, 3, 128, 128}, -0.5f);
  img.index_put_(
      {0, 0, torch::indexing::Slice(20, 60), torch::indexing::Slice(16, 64)},
      2.0f);
  img.index_put_(
      {0, 2, torch::indexing::Slice(70, 118), torch::indexing::Slice(64, 120)},
      2.0f);
  img.index_put_(
      {0, 1, torch::indexing::Slice(8, 20), torch::indexing::Slice(100, 124)},
      2.0f);
  ChipTargets t;
  t.boxes = torch::tensor({16.f, 20.f, 64.f, 60.f, 64.f, 70.f, 120.f, 118.f})
                .view({2, 4});
  t.labels = torch::tensor({0, 2}, torch::kLong);
  t.ignore = torch::tensor({100.f, 8.f, 124.f, 20.f}).view({1, 4});
  t.height = 128;
  t.width = 128;
  return {img, t};
}

// The RCNN heads x backbones a parameterized model test runs over.
struct HeadCase {
  RcnnHead head;
  BackboneType backbone;
};
inline std::vector<HeadCase> AllHeads() {
  return {{RcnnHead::kTwoFc, BackboneType::kResNet},
          {RcnnHead::kC4, BackboneType::kResNet},
          {RcnnHead::kTwoFc, BackboneType::kMobileNetV2},
          {RcnnHead::kC4, BackboneType::kMobileNetV2}};
}
// Names a HeadCase test parameter ("TwoFcResNet", "C4MobileNetV2").
struct HeadCaseName {
  template <typename ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return std::string(info.param.head == RcnnHead::kC4 ? "C4" : "TwoFc") +
           (info.param.backbone == BackboneType::kMobileNetV2 ? "MobileNetV2"
                                                              : "ResNet");
  }
};

}  // namespace sniper::models::testing

#endif  // SNIPER_MODELS_TESTING_TINY_MODELS_H_
