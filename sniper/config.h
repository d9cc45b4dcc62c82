// File: sniper/config.h
//
// PipelineConfig (sniper/pipeline.proto): layering and validation.
//
//   ASSIGN_OR_RETURN(PipelineConfig merged,
//                    LayerConfigs(embedded::kDefaultSynthetic, "default",
//                                 config_path, {"optimizer.base_lr=0.01"}));
//   ASSIGN_OR_RETURN(Pipeline pipeline, BuildPipeline(merged));
//
// Layers: the built-in default, then the --config file (after the files
// its layered_over names, recursively), then --set
// assignments, in order (port/proto_layering.h). A field set in a later layer
// replaces the earlier value, a repeated field set in a later layer replaces
// the whole list, and messages merge field by field. The merged message is
// validated once (BuildPipeline); every error names the field path, the value
// and the rule.
#ifndef SNIPER_SNIPER_CONFIG_H_
#define SNIPER_SNIPER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/chip_loader.h"
#include "data/chips.h"
#include "inference/options.h"
#include "models/faster_rcnn.h"
#include "port/proto_layering.h"
#include "sniper/pipeline.pb.h"
#include "sniper/stage_options.h"

namespace sniper {

// The three layers. `config_path` may be empty (default only).
absl::StatusOr<PipelineConfig> LayerConfigs(
    const std::string& default_text, const std::string& default_name,
    const std::string& config_path, const std::vector<std::string>& sets);

// The two defaults the proto cannot carry (a repeated field and a whole
// message have no [default]); BuildPipeline applies them:
//   schedule.decay_epochs, when neither it nor schedule.epochs is set: one
//   decay at kDefaultDecayEpoch (the paper's 5.33 of 7 epochs);
//   negatives.rpn_schedule, when unset: kDefaultRpnEpochs epochs (the
//   short-schedule RPN that mines negative chips).
inline constexpr float kDefaultDecayEpoch = 5.33f;
inline constexpr float kDefaultRpnEpochs = 2;

// A validated pipeline: the merged config plus the built options of every
// component.
struct Pipeline {
  PipelineConfig config;
  data::ChipSamplerOptions sampler;
  data::ChipLoaderOptions loader;
  models::FasterRcnnOptions model;      // the detector
  models::FasterRcnnOptions rpn_model;  // the short-schedule RPN
  inference::InferenceOptions eval;     // test scales, merging, limits
  std::vector<Stage> stages;            // in order
  std::string work_dir;                 // resolved, absolute
  std::string proposals_file;           // resolved; empty for NONE
  DatasetOptions dataset;               // the files and how to read them
  // Each stage's options (sniper/stage_options.h), from the above.
  TrainingStageOptions rpn_stage, detector_stage;
  ProposalsStageOptions proposals_stage;
  EvalStageOptions eval_stage;
};

// Fills the stage options of a pipeline from its other fields (done by
// BuildPipeline; call again after changing them).
void BuildStageOptions(Pipeline& p);

// Validates `config` and builds every component's options. Relative paths
// resolve against the directory `bazel run` was started in.
absl::StatusOr<Pipeline> BuildPipeline(const PipelineConfig& config);

// What the binaries run: the embedded default
// (configs/default_synthetic.pbtxt), then `config_path` (may be empty),
// then `sets`, then output.work_dir=`work_dir` when given; validated.
absl::StatusOr<Pipeline> PipelineFromLayers(const std::string& config_path,
                                            std::vector<std::string> sets,
                                            const std::string& work_dir);

}  // namespace sniper

#endif  // SNIPER_SNIPER_CONFIG_H_
