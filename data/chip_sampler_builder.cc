#include "data/chip_sampler_builder.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "port/field_path.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

absl::StatusOr<ScaleSpec> BuildScale(const ScaleConfig& config,
                                     const std::string& root, int index,
                                     ScaleUse use) {
  auto Invalid = [&root](const std::string& field, const std::string& rule) {
    return InvalidField(root, field, rule);
  };
  const std::string path = absl::StrCat("scales[", index, "]");
  ScaleSpec spec;
  const ScaleSize& size = config.size();
  switch (size.size_case()) {
    case ScaleSize::kFactor:
      if (!(std::isfinite(size.factor()) && size.factor() > 0)) {
        return Invalid(
            absl::StrCat(path, ".size.factor"),
            absl::StrCat("must be finite and > 0, got ", size.factor()));
      }
      spec.kind = ScaleSpec::Kind::kFactor;
      spec.factor = size.factor();
      break;
    case ScaleSize::kResolution: {
      const auto& r = size.resolution();
      if (r.short_side() <= 0) {
        return Invalid(absl::StrCat(path, ".size.resolution.short_side"),
                       absl::StrCat("must be > 0, got ", r.short_side()));
      }
      if (r.max_long_side() < r.short_side()) {
        return Invalid(absl::StrCat(path, ".size.resolution.max_long_side"),
                       absl::StrCat("must be >= short_side (", r.short_side(),
                                    "), got ", r.max_long_side()));
      }
      spec.kind = ScaleSpec::Kind::kResolution;
      spec.short_side = r.short_side();
      spec.max_long_side = r.max_long_side();
      break;
    }
    case ScaleSize::kLongSide:
      if (size.long_side() <= 0) {
        return Invalid(absl::StrCat(path, ".size.long_side"),
                       absl::StrCat("must be > 0, got ", size.long_side()));
      }
      spec.kind = ScaleSpec::Kind::kLongSide;
      spec.long_side = size.long_side();
      break;
    case ScaleSize::SIZE_NOT_SET:
      return Invalid(absl::StrCat(path, ".size"),
                     "one of factor, resolution, long_side must be set");
  }
  const ValidRange& range = config.valid_range();
  if (!(range.min() >= 0) || std::isinf(range.min())) {
    return Invalid(absl::StrCat(path, ".valid_range.min"),
                   absl::StrCat("must be finite and >= 0, got ", range.min()));
  }
  if (!(range.min() < range.max())) {
    return Invalid(absl::StrCat(path, ".valid_range"),
                   absl::StrCat("min (", range.min(), ") must be < max (",
                                range.max(), ")"));
  }
  spec.valid_min = range.min();
  spec.valid_max = range.max();
  if (config.negative_min_proposals() < 0) {
    return Invalid(
        absl::StrCat(path, ".negative_min_proposals"),
        absl::StrCat("must be >= 0, got ", config.negative_min_proposals()));
  }
  spec.negative_min_proposals = config.negative_min_proposals();
  if (config.has_test_post_nms_top_n()) {
    const std::string field = absl::StrCat(path, ".test_post_nms_top_n");
    if (use == ScaleUse::kTraining) {
      return Invalid(field,
                     "is a test scale's setting (eval.scales); training does "
                     "not read it");
    }
    if (config.test_post_nms_top_n() < 1) {
      return Invalid(field, absl::StrCat("must be >= 1, got ",
                                         config.test_post_nms_top_n()));
    }
    spec.test_post_nms_top_n = config.test_post_nms_top_n();
  }
  return spec;
}

// cover, canvas, min_chip_size, canvas_step, tight_negatives (after
// chip_size is checked).
absl::Status BuildCoverOptions(const ChipSamplerConfig& config,
                               const std::string& root,
                               ChipSamplerOptions* options) {
  auto Invalid = [&root](const std::string& field, const std::string& rule) {
    return InvalidField(root, field, rule);
  };
  switch (config.cover()) {
    case ChipSamplerConfig::GREEDY:
      options->cover = CoverKind::kGreedy;
      break;
    case ChipSamplerConfig::OPTIMIZED:
      options->cover = CoverKind::kOptimized;
      break;
    default:
      return Invalid("cover", "must be GREEDY or OPTIMIZED");
  }
  switch (config.canvas()) {
    case ChipSamplerConfig::FIXED:
      options->tight_canvas = false;
      break;
    case ChipSamplerConfig::TIGHT:
      options->tight_canvas = true;
      break;
    default:
      return Invalid("canvas", "must be FIXED or TIGHT");
  }
  const int32_t step = config.canvas_step();
  if (step <= 0 || step % 32 != 0) {
    return Invalid("canvas_step",
                   absl::StrCat("must be a positive multiple of 32 (the "
                                "backbone's stride), got ",
                                step));
  }
  if (options->tight_canvas && config.mode() == ChipSamplerConfig::CHIPS &&
      config.chip_size() % step != 0) {
    return Invalid("canvas_step",
                   absl::StrCat("chip_size (", config.chip_size(),
                                ") must be a multiple of canvas_step (", step,
                                ") with canvas TIGHT"));
  }
  options->canvas_step = step;
  if (config.has_min_chip_size()) {
    // Used only by cover OPTIMIZED with canvas TIGHT in CHIPS mode (a
    // layered config may inherit it where it does not apply).
    const int32_t m = config.min_chip_size();
    if (config.mode() == ChipSamplerConfig::CHIPS && options->tight_canvas &&
        (m < step || m > config.chip_size() || m % step != 0)) {
      return Invalid("min_chip_size",
                     absl::StrCat("must be a multiple of canvas_step (", step,
                                  ") in [", step, ", chip_size (",
                                  config.chip_size(), ")], got ", m));
    }
    options->min_chip_size = m;
  }
  for (int i = 0; i < config.scales_size(); ++i) {
    if (!config.scales(i).has_min_chip_size()) continue;
    const int32_t m = config.scales(i).min_chip_size();
    if (config.mode() == ChipSamplerConfig::CHIPS && options->tight_canvas &&
        (m < step || m > config.chip_size() || m % step != 0)) {
      return Invalid(absl::StrCat("scales[", i, "].min_chip_size"),
                     absl::StrCat("must be a multiple of canvas_step (", step,
                                  ") in [", step, ", chip_size (",
                                  config.chip_size(), ")], got ", m));
    }
    options->scales[i].min_chip_size = m;
  }
  if (config.tight_negatives() && !options->tight_canvas) {
    return Invalid("tight_negatives", "needs canvas TIGHT");
  }
  options->tight_negatives = config.tight_negatives();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChipSamplerOptions> BuildChipSamplerOptions(
    const ChipSamplerConfig& config, const std::string& path, ScaleUse use) {
  auto Invalid = [&path](const std::string& field, const std::string& rule) {
    return InvalidField(path, field, rule);
  };
  ChipSamplerOptions options;
  if (config.scales_size() == 0) {
    return Invalid("scales", "must have at least one scale");
  }
  for (int i = 0; i < config.scales_size(); ++i) {
    ASSIGN_OR_RETURN(ScaleSpec spec,
                     BuildScale(config.scales(i), path, i, use));
    options.scales.push_back(spec);
  }
  switch (config.mode()) {
    case ChipSamplerConfig::CHIPS:
      options.mode = ChipMode::kChips;
      break;
    case ChipSamplerConfig::WHOLE_IMAGE:
      options.mode = ChipMode::kWholeImage;
      break;
    case ChipSamplerConfig::MODE_UNSPECIFIED:
      return Invalid("mode", "must be CHIPS or WHOLE_IMAGE");
  }
  if (config.chip_size() <= 0 || config.chip_size() > 16384) {
    return Invalid("chip_size", absl::StrCat("must be in [1, 16384], got ",
                                             config.chip_size()));
  }
  if (config.stride() <= 0) {
    return Invalid("stride",
                   absl::StrCat("must be > 0, got ", config.stride()));
  }
  if (config.stride_jitter() < 0) {
    return Invalid("stride_jitter",
                   absl::StrCat("must be >= 0, got ", config.stride_jitter()));
  }
  if (config.mode() == ChipSamplerConfig::CHIPS &&
      config.chip_size() - config.stride() - config.stride_jitter() - 1 <= 0) {
    return Invalid(
        "stride",
        absl::StrCat("stride + stride_jitter + 1 (",
                     config.stride() + config.stride_jitter() + 1,
                     ") must be < chip_size (", config.chip_size(), ")"));
  }
  if (!(config.min_box_size_in_chip() >= 0) ||
      std::isinf(config.min_box_size_in_chip())) {
    return Invalid("min_box_size_in_chip",
                   absl::StrCat("must be finite and >= 0, got ",
                                config.min_box_size_in_chip()));
  }
  if (config.negatives_per_image() < 0) {
    return Invalid(
        "negatives_per_image",
        absl::StrCat("must be >= 0, got ", config.negatives_per_image()));
  }
  if (config.max_proposals_per_scale() <= 0) {
    return Invalid(
        "max_proposals_per_scale",
        absl::StrCat("must be > 0, got ", config.max_proposals_per_scale()));
  }
  RETURN_IF_ERROR(BuildCoverOptions(config, path, &options));
  options.chip_size = config.chip_size();
  options.stride = config.stride();
  options.stride_jitter = config.stride_jitter();
  options.min_box_size_in_chip = config.min_box_size_in_chip();
  options.negatives_per_image = config.negatives_per_image();
  options.max_proposals_per_scale = config.max_proposals_per_scale();
  options.crowd_as_ignore = config.crowd_as_ignore();
  options.seed = config.seed();
  options.shuffle = config.shuffle();
  options.group_by_image = config.group_by_image();
  return options;
}

absl::StatusOr<ChipSamplerOptions> LoadChipSamplerOptions(
    const std::string& path) {
  ChipSamplerConfig config;
  RETURN_IF_ERROR(ReadTextProtoFile(path, &config));
  absl::StatusOr<ChipSamplerOptions> options = BuildChipSamplerOptions(config);
  if (!options.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", options.status().message()));
  }
  return options;
}

absl::StatusOr<ChipSamplerOptions> ParseChipSamplerOptions(
    const std::string& text, const std::string& source_name) {
  ChipSamplerConfig config;
  RETURN_IF_ERROR(ParseTextProto(text, source_name, &config));
  absl::StatusOr<ChipSamplerOptions> options = BuildChipSamplerOptions(config);
  if (!options.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": ", options.status().message()));
  }
  return options;
}

}  // namespace sniper::data
