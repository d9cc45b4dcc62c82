// File: models/model_builder.h
//
// ModelConfig (protobuf) -> FasterRcnnOptions, validated: errors name the
// field path, the value and the rule, e.g.
//   "ModelConfig.rpn_targets: negative_iou (0.6) must be <= positive_iou
//   (0.5)".
#ifndef SNIPER_MODELS_MODEL_BUILDER_H_
#define SNIPER_MODELS_MODEL_BUILDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/faster_rcnn.h"
#include "models/model.pb.h"

namespace sniper::models {

// `path` names the message in errors (e.g. "PipelineConfig.model").
absl::StatusOr<FasterRcnnOptions> BuildFasterRcnnOptions(
    const ModelConfig& config, const std::string& path = "ModelConfig");

// One way two models differ in what their weights mean: `field` is the
// ModelConfig path ("rcnn_fc_channels", "backbone.depth"), `a` and `b` the
// two values as text.
struct ArchitectureDifference {
  std::string field;
  std::string a, b;
};

// The fields that define a model's weights or what they compute (backbone
// depth, width and res5 dilation, head kind, class count, channel widths,
// anchors, RoI size) where `a` and `b` differ, in ModelConfig's order.
// Training-only (freezing, targets, proposal counts), layout
// (channels_last), test thresholds and rpn_only (the RPN stage's own copy)
// are not compared.
std::vector<ArchitectureDifference> ArchitectureDifferences(
    const FasterRcnnOptions& a, const FasterRcnnOptions& b);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_MODEL_BUILDER_H_
