// File: inference/options.h
//
// Multi-scale inference settings (inference/detector.h): InferenceConfig
// (inference/inference.proto; PipelineConfig.eval) built and validated.
//
//   ASSIGN_OR_RETURN(InferenceOptions o,
//                    BuildInferenceOptions(config.eval(), config.sampler(),
//                                          "PipelineConfig.eval"));
#ifndef SNIPER_INFERENCE_OPTIONS_H_
#define SNIPER_INFERENCE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autofocus/focus_chips.h"
#include "data/chips.h"
#include "inference/inference.pb.h"

namespace sniper::inference {

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
  // A batch's padding to its views' common size, at most this fraction of
  // their pixels (inference/batch_plan.h).
  double max_batch_padding = 0.25;
  // A batch's canvas at most this many pixels; 0: the device's default
  // (MultiScaleDetector::batch_limits()).
  int64_t max_batch_pixels = 0;
  // Canvas sides rounded up to this multiple of 32; 0: the device's
  // default (MultiScaleDetector::canvas_multiple()).
  int32_t canvas_multiple = 0;
  // Proposals outside the view's scale's valid range widened by this
  // factor skip the RCNN head; 0: none do.
  double proposal_size_margin = 1;
  // AutoFocus: coarse to fine; focus_steps[r] turns the focus map of the
  // image's r-th coarsest scale into the next one's FocusChips.
  bool autofocus = false;
  std::vector<autofocus::FocusChipOptions> focus_steps;
  int64_t min_chip_proposals = 50;  // 0: whole-image counts per chip
  bool ground_truth_focus = false;  // maps from the images' boxes
  // Batch norm with each forward pass's own statistics (InferenceConfig's
  // PER_BATCH) instead of the running averages.
  bool batch_norm_per_batch = false;
};

// Validates `config`; with no scales, the first of `training`'s scales with
// no valid-range limit. Errors name `path` (the InferenceConfig's own path,
// e.g. "PipelineConfig.eval") and the field.
absl::StatusOr<InferenceOptions> BuildInferenceOptions(
    const InferenceConfig& config, const data::ChipSamplerConfig& training,
    const std::string& path = "InferenceConfig");

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_OPTIONS_H_
