// File: data/chip_sampler_builder.h
//
// ChipSamplerConfig (protobuf) -> ChipSamplerOptions (plain struct),
// validated. Every rule violation is an InvalidArgument naming the field
// path, the value and the rule, e.g.
//   "ChipSamplerConfig.scales[1].valid_range: min (150) must be < max (120)".
#ifndef SNIPER_DATA_CHIP_SAMPLER_BUILDER_H_
#define SNIPER_DATA_CHIP_SAMPLER_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "data/chip_sampler.pb.h"
#include "data/chips.h"

namespace sniper::data {

// Which scales a config holds: training scales refuse a test scale's
// fields (ScaleConfig.test_post_nms_top_n), test scales (InferenceConfig's)
// accept and validate them.
enum class ScaleUse { kTraining, kTest };

// `path` names the message in errors (e.g. "PipelineConfig.sampler").
absl::StatusOr<ChipSamplerOptions> BuildChipSamplerOptions(
    const ChipSamplerConfig& config,
    const std::string& path = "ChipSamplerConfig",
    ScaleUse use = ScaleUse::kTraining);

// Reads a text-format ChipSamplerConfig file and builds it; errors name the
// file (and line for parse errors).
absl::StatusOr<ChipSamplerOptions> LoadChipSamplerOptions(
    const std::string& path);

// Parses text (e.g. an embedded default) and builds it.
absl::StatusOr<ChipSamplerOptions> ParseChipSamplerOptions(
    const std::string& text, const std::string& source_name);

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_SAMPLER_BUILDER_H_
