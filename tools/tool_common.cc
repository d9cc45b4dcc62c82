#include "tools/tool_common.h"

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "data/chip_sampler_builder.h"
#include "glog/logging.h"
#include "port/paths.h"

namespace sniper::tools {

void InitTool(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
}

absl::StatusOr<data::ChipSamplerOptions> SamplerOptionsFromFlag(
    const std::string& flag, const char* embedded, const char* embedded_name) {
  if (flag.empty()) {
    return data::ParseChipSamplerOptions(embedded, embedded_name);
  }
  return data::LoadChipSamplerOptions(ResolveUserPath(flag));
}

absl::StatusOr<std::optional<data::ProposalSet>> ProposalsFromFlag(
    const std::string& flag) {
  if (flag.empty()) return std::optional<data::ProposalSet>();
  absl::StatusOr<data::ProposalSet> set =
      data::ReadProposals(ResolveUserPath(flag));
  if (!set.ok()) return set.status();
  return std::optional<data::ProposalSet>(std::move(*set));
}

}  // namespace sniper::tools
