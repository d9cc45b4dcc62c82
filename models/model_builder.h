// File: models/model_builder.h
//
// ModelConfig (protobuf) -> FasterRcnnOptions, validated: errors name the
// field path, the value and the rule, e.g.
//   "ModelConfig.rpn_targets: negative_iou (0.6) must be <= positive_iou
//   (0.5)".
#ifndef SNIPER_MODELS_MODEL_BUILDER_H_
#define SNIPER_MODELS_MODEL_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "models/faster_rcnn.h"
#include "models/model.pb.h"

namespace sniper::models {

// `path` names the message in errors (e.g. "PipelineConfig.model").
absl::StatusOr<FasterRcnnOptions> BuildFasterRcnnOptions(
    const ModelConfig& config, const std::string& path = "ModelConfig");

}  // namespace sniper::models

#endif  // SNIPER_MODELS_MODEL_BUILDER_H_
