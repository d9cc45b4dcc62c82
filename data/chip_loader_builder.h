// File: data/chip_loader_builder.h
//
// LoaderConfig (protobuf) -> ChipLoaderOptions, validated; errors name the
// field, the value and the rule ("LoaderConfig.mean: needs 3 values, got 2").
#ifndef SNIPER_DATA_CHIP_LOADER_BUILDER_H_
#define SNIPER_DATA_CHIP_LOADER_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "data/chip_loader.h"
#include "data/loader.pb.h"

namespace sniper::data {

// `chip_size` comes from the sampler's configuration; `path` names the
// message in errors (e.g. "PipelineConfig.loader").
absl::StatusOr<ChipLoaderOptions> BuildChipLoaderOptions(
    const LoaderConfig& config, int32_t chip_size,
    const std::string& path = "LoaderConfig");

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_LOADER_BUILDER_H_
