// File: tools/tool_common.h
//
// What sniper-cpp's command-line tools share: start-up (absl flags, glog to
// stderr) and loading the chip sampler and proposals named by flags, with
// paths relative to the user's directory under `bazel run`.
#ifndef SNIPER_TOOLS_TOOL_COMMON_H_
#define SNIPER_TOOLS_TOOL_COMMON_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "data/chips.h"
#include "data/proposals.h"

namespace sniper::tools {

// Parses absl flags (exits on --help or bad flags) and sends glog to stderr.
void InitTool(int argc, char** argv, const char* usage);

// The ChipSamplerConfig file named by `flag`, or the embedded text
// `embedded` (named `embedded_name` in errors) when the flag is empty.
absl::StatusOr<data::ChipSamplerOptions> SamplerOptionsFromFlag(
    const std::string& flag, const char* embedded, const char* embedded_name);

// The proposals file named by `flag`; nullopt when the flag is empty.
absl::StatusOr<std::optional<data::ProposalSet>> ProposalsFromFlag(
    const std::string& flag);

}  // namespace sniper::tools

#endif  // SNIPER_TOOLS_TOOL_COMMON_H_
