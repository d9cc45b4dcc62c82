// File: models/testing/tiny_models.h
//
// The smallest Faster R-CNN that still has every part (a ResNet-18 at an
// eighth of its width, narrow RPN and RCNN heads): fast enough for unit
// tests of code around the model (checkpoints, the train step). Test-only.
#ifndef SNIPER_MODELS_TESTING_TINY_MODELS_H_
#define SNIPER_MODELS_TESTING_TINY_MODELS_H_

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

}  // namespace sniper::models::testing

#endif  // SNIPER_MODELS_TESTING_TINY_MODELS_H_
