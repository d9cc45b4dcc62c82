#include "sniper/proposals_stage.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/proposals.h"
#include "inference/detector.h"
#include "port/prefetcher.h"
#include "port/status_macros.h"
#include "sniper/distributed.h"

namespace sniper {

namespace fs = std::filesystem;

namespace {

// The RPN over every image of `train` at every training scale, the next
// image decoded while the network runs on this one.
absl::StatusOr<data::ProposalSet> ProposeAll(inference::MultiScaleDetector& rpn,
                                             const Split& train,
                                             const RunEnv& env,
                                             StageSummary& summary) {
  const data::CocoDataset& ds = *train.dataset;
  const int64_t n = static_cast<int64_t>(ds.num_images());
  Prefetcher<inference::PreparedImage> images(n, [&](int64_t i) {
    return rpn.Prepare(inference::ImageOf(ds, train.image_dir, i));
  });
  data::ProposalSet set(static_cast<int>(rpn.options().scales.scales.size()));
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(const inference::PreparedImage image, images.Next());
    const std::vector<std::vector<data::ScoredBox>> per_scale =
        rpn.Proposals(image);
    for (const auto& boxes : per_scale) {
      summary.proposals += static_cast<int64_t>(boxes.size());
    }
    set.Set(ds.image(i).id, per_scale);
    ++summary.images;
    if ((i + 1) % 50 == 0 || i + 1 == n) {
      const double dt = Seconds(start);
      env.log->Progress(absl::StrFormat(
          "[proposals] %d/%d images  %.2f images/s  ETA %s", i + 1, n,
          (i + 1) / dt, FormatDuration(dt / (i + 1) * (n - i - 1))));
    }
  }
  return set;
}

}  // namespace

absl::StatusOr<StageSummary> RunProposalsStage(
    const ProposalsStageOptions& options, const Split& train,
    const RunEnv& env) {
  StageSummary summary;
  summary.stage = Stage::kProposals;
  if (options.keep_existing && fs::exists(options.proposals_file)) {
    summary.skipped = true;
    env.log->Line(
        absl::StrCat("[proposals] already written: ", options.proposals_file));
    return summary;
  }
  if (env.rank() != 0) {
    // Rank 0 writes the file; the others wait for it (a dead rank 0 ends
    // the wait at once: the store goes with it).
    RETURN_IF_ERROR(env.dist->WaitFor("proposals", std::chrono::hours(72)));
    summary.skipped = true;
    return summary;
  }
  ASSIGN_OR_RETURN(models::FasterRcnn model,
                   LoadStageModel(options.rpn_checkpoint, Stage::kRpn,
                                  options.model, env.device));
  ASSIGN_OR_RETURN(inference::MultiScaleDetector rpn,
                   inference::MultiScaleDetector::Create(
                       std::move(model), options.inference, options.render,
                       env.device, env.autocast));
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(const data::ProposalSet set,
                   ProposeAll(rpn, train, env, summary));
  RETURN_IF_ERROR(data::WriteProposals(options.proposals_file, set));
  if (env.dist != nullptr) RETURN_IF_ERROR(env.dist->Announce("proposals"));
  summary.seconds = Seconds(start);
  env.log->Line(absl::StrFormat(
      "[proposals] %d images x %d scales, %d proposals in %s -> %s",
      summary.images, set.num_scales(), summary.proposals,
      FormatDuration(summary.seconds), options.proposals_file));
  return summary;
}

}  // namespace sniper
