#include "inference/options.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "data/chip_sampler_builder.h"
#include "port/field_path.h"
#include "port/status_macros.h"

namespace sniper::inference {

namespace {

// AutoFocusConfig into `out` (whose scales are set).
absl::Status BuildAutoFocus(const AutoFocusConfig& af, const std::string& path,
                            InferenceOptions* out) {
  out->autofocus = af.enabled();
  if (out->autofocus) {
    const int scales = static_cast<int>(out->scales.scales.size());
    if (scales < 2) {
      return InvalidField(path, "autofocus.enabled",
                          "AutoFocus needs at least two test scales");
    }
    if (af.steps_size() != scales - 1) {
      return InvalidField(
          path, "autofocus.steps",
          absl::StrCat("needs one step per test scale but the finest (",
                       scales - 1, "), got ", af.steps_size()));
    }
  }
  if (af.min_chip_proposals() < 0) {
    return InvalidField(
        path, "autofocus.min_chip_proposals",
        absl::StrCat("must be >= 0, got ", af.min_chip_proposals()));
  }
  out->min_chip_proposals = af.min_chip_proposals();
  out->ground_truth_focus = af.ground_truth_focus();
  for (int i = 0; i < af.steps_size(); ++i) {
    const AutoFocusConfig::Step& s = af.steps(i);
    autofocus::FocusChipOptions o;
    o.threshold = s.threshold();
    o.dilation = s.dilation();
    o.min_size = s.min_size();
    RETURN_IF_ERROR(autofocus::ValidateFocusChipOptions(
        o, FieldPath(path, absl::StrCat("autofocus.steps[", i, "]"))));
    out->focus_steps.push_back(o);
  }
  return absl::OkStatus();
}

// The test scales (or the first training scale's size) as a WHOLE_IMAGE
// sampler's options: its "scales" are ours.
absl::StatusOr<data::ChipSamplerOptions> TestScales(
    const InferenceConfig& e, const data::ChipSamplerConfig& training,
    const std::string& path) {
  data::ChipSamplerConfig sampler;
  if (e.scales_size() > 0) {
    *sampler.mutable_scales() = e.scales();
  } else if (training.scales_size() > 0) {
    *sampler.add_scales()->mutable_size() = training.scales(0).size();
  } else {
    return InvalidField(path, "scales", "set at least one test scale");
  }
  sampler.set_mode(data::ChipSamplerConfig::WHOLE_IMAGE);
  sampler.set_negatives_per_image(0);
  sampler.set_shuffle(false);
  return data::BuildChipSamplerOptions(sampler, path, data::ScaleUse::kTest);
}

}  // namespace

absl::StatusOr<InferenceOptions> BuildInferenceOptions(
    const InferenceConfig& e, const data::ChipSamplerConfig& training,
    const std::string& path) {
  auto Invalid = [&path](const std::string& field, const std::string& rule) {
    return InvalidField(path, field, rule);
  };
  InferenceOptions out;
  ASSIGN_OR_RETURN(out.scales, TestScales(e, training, path));
  if (!(e.score_threshold() >= 0 && e.score_threshold() < 1)) {
    return Invalid("score_threshold", absl::StrCat("must be in [0, 1), got ",
                                                   e.score_threshold()));
  }
  if (!(e.nms_threshold() > 0 && e.nms_threshold() <= 1)) {
    return Invalid("nms_threshold",
                   absl::StrCat("must be in (0, 1], got ", e.nms_threshold()));
  }
  if (e.max_detections() < 1) {
    return Invalid("max_detections",
                   absl::StrCat("must be >= 1, got ", e.max_detections()));
  }
  if (e.merge() == InferenceConfig::MERGE_UNSPECIFIED) {
    return Invalid("merge", "must be NMS or SOFT_NMS");
  }
  if (!(e.soft_nms_sigma() > 0 && std::isfinite(e.soft_nms_sigma()))) {
    return Invalid("soft_nms_sigma",
                   absl::StrCat("must be > 0, got ", e.soft_nms_sigma()));
  }
  if (e.max_tile_side() < 0 ||
      (e.max_tile_side() > 0 &&
       (e.max_tile_side() < 64 || e.tile_overlap() < 0 ||
        e.tile_overlap() >= e.max_tile_side() / 2))) {
    return Invalid("max_tile_side",
                   absl::StrCat("need 0 (no tiling) or >= 64 with 0 <= "
                                "tile_overlap < max_tile_side / 2, got ",
                                e.max_tile_side(), " and ", e.tile_overlap()));
  }
  out.score_threshold = e.score_threshold();
  out.nms_threshold = e.nms_threshold();
  out.max_detections = e.max_detections();
  out.soft_nms = e.merge() == InferenceConfig::SOFT_NMS;
  out.soft_nms_sigma = e.soft_nms_sigma();
  out.max_tile_side = e.max_tile_side();
  out.tile_overlap = e.tile_overlap();
  if (e.batch_size() < 1) {
    return Invalid("batch_size",
                   absl::StrCat("must be >= 1, got ", e.batch_size()));
  }
  out.batch_size = e.batch_size();
  if (!(e.max_batch_padding() >= 0)) {
    return Invalid("max_batch_padding",
                   absl::StrCat("must be >= 0, got ", e.max_batch_padding()));
  }
  out.max_batch_padding = e.max_batch_padding();
  if (e.max_batch_pixels() < 0) {
    return Invalid("max_batch_pixels",
                   absl::StrCat("must be >= 0 (0: the device's default), got ",
                                e.max_batch_pixels()));
  }
  out.max_batch_pixels = e.max_batch_pixels();
  if (e.canvas_multiple() < 0 || e.canvas_multiple() % 32 != 0) {
    return Invalid("canvas_multiple",
                   absl::StrCat("must be 0 (the device's default) or a "
                                "positive multiple of 32, got ",
                                e.canvas_multiple()));
  }
  out.canvas_multiple = e.canvas_multiple();
  if (!(e.proposal_size_margin() == 0 || e.proposal_size_margin() >= 1)) {
    return Invalid("proposal_size_margin",
                   absl::StrCat("must be 0 (off) or >= 1, got ",
                                e.proposal_size_margin()));
  }
  out.proposal_size_margin = e.proposal_size_margin();
  if (e.batch_norm() == InferenceConfig::BATCH_NORM_UNSPECIFIED) {
    return Invalid("batch_norm", "must be RUNNING or PER_BATCH");
  }
  out.batch_norm_per_batch = e.batch_norm() == InferenceConfig::PER_BATCH;

  RETURN_IF_ERROR(BuildAutoFocus(e.autofocus(), path, &out));
  return out;
}

}  // namespace sniper::inference
