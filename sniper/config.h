// File: sniper/config.h
//
// PipelineConfig (sniper/pipeline.proto): layering and validation.
//
//   ASSIGN_OR_RETURN(PipelineConfig merged,
//                    LayerConfigs(embedded::kDefaultSynthetic, "default",
//                                 config_path, {"optimizer.base_lr=0.01"}));
//   ASSIGN_OR_RETURN(Pipeline pipeline, BuildPipeline(merged));
//
// Layers: the built-in default, then the --config file, then --set
// assignments, in order. A field set in a later layer replaces the earlier
// value, a repeated field set in a later layer replaces the whole list, and
// messages merge field by field. The merged message is validated once
// (BuildPipeline); every error names the field path, the value and the
// rule.
#ifndef SNIPER_SNIPER_CONFIG_H_
#define SNIPER_SNIPER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/chip_loader.h"
#include "data/chips.h"
#include "google/protobuf/message.h"
#include "models/faster_rcnn.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

// Copies every field set in `upper` into `lower`: scalars replace,
// repeated fields replace the whole list, messages merge recursively.
void MergeReplacingLists(const google::protobuf::Message& upper,
                         google::protobuf::Message* lower);

// Applies "path=value": path is dot-separated field names, repeated
// message elements indexed as name[i] (i may equal the current size to
// append); value is a scalar in text-format spelling (numbers, true/false,
// enum names, strings with or without quotes, inf) or, for a repeated
// scalar field, a list [a, b, c] that replaces it. Errors name the path.
absl::Status ApplyAssignment(const std::string& assignment,
                             google::protobuf::Message* message);

// The three layers. `config_path` may be empty (default only).
absl::StatusOr<PipelineConfig> LayerConfigs(
    const std::string& default_text, const std::string& default_name,
    const std::string& config_path, const std::vector<std::string>& sets);

// Multi-scale inference settings (InferenceConfig, built and validated).
struct InferenceOptions {
  data::ChipSamplerOptions scales;  // WHOLE_IMAGE: test scales, valid ranges
  double score_threshold = 1e-3;
  double nms_threshold = 0.5;
  int64_t max_detections = 100;
  bool soft_nms = false;
  double soft_nms_sigma = 0.55;
  int32_t max_tile_side = 0;  // 0: never tile
  int32_t tile_overlap = 256;
  int64_t batch_size = 1;  // views per forward pass
};

// Validates `config`; with no scales, the first of `training`'s scales with
// no valid-range limit. Errors name PipelineConfig.<field>.
absl::StatusOr<InferenceOptions> BuildInferenceOptions(
    const InferenceConfig& config, const data::ChipSamplerConfig& training,
    const std::string& field);

enum class Stage { kRpn, kProposals, kDetector, kEval };
const char* StageName(Stage stage);

// A validated pipeline: the merged config plus the built options of every
// component.
struct Pipeline {
  PipelineConfig config;
  data::ChipSamplerOptions sampler;
  data::ChipLoaderOptions loader;
  models::FasterRcnnOptions model;      // the detector
  models::FasterRcnnOptions rpn_model;  // the short-schedule RPN
  InferenceOptions eval;                // test scales, merging, limits
  std::vector<Stage> stages;            // in order
  std::string work_dir;                 // resolved, absolute
  std::string proposals_file;           // resolved; empty for NONE
};

// Validates `config` and builds every component's options. Relative paths
// resolve against the directory `bazel run` was started in.
absl::StatusOr<Pipeline> BuildPipeline(const PipelineConfig& config);

// The synthetic dataset a config names: whether its cache directory
// (resolved by BuildPipeline) holds it, and generating it there.
bool SyntheticDatasetExists(const SyntheticDataConfig& config);
absl::Status WriteSyntheticDataset(const SyntheticDataConfig& config);

}  // namespace sniper

#endif  // SNIPER_SNIPER_CONFIG_H_
