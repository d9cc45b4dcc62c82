#include "sniper/proposals_stage.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_sampler.h"
#include "data/proposals.h"
#include "port/prefetcher.h"
#include "port/status_macros.h"
#include "sniper/distributed.h"
#include "sniper/inference.h"

namespace sniper {

namespace fs = std::filesystem;

namespace {

// One image's proposals at one scale, in image pixels.
std::vector<data::ScoredBox> ProposalsOf(models::FasterRcnn& model,
                                         const ScaledView& view,
                                         const RunEnv& env) {
  const models::Detections dets =
      DetectOn(model, view.pixels,
               {{static_cast<double>(view.at.scaled_height),
                 static_cast<double>(view.at.scaled_width)}},
               env.device, env.autocast)[0];
  const torch::Tensor boxes = (dets.boxes / view.at.scale).contiguous();
  const torch::Tensor scores = dets.scores.contiguous();
  std::vector<data::ScoredBox> out;
  out.reserve(boxes.size(0));
  for (int64_t k = 0; k < boxes.size(0); ++k) {
    const float* b = boxes.data_ptr<float>() + 4 * k;
    out.push_back({{b[0], b[1], b[2], b[3]}, scores.data_ptr<float>()[k]});
  }
  return out;
}

// The RPN over every image and scale of `train`, the next view decoded
// while the network runs on this one.
absl::StatusOr<data::ProposalSet> ProposeAll(models::FasterRcnn& model,
                                             const ProposalsStageOptions& o,
                                             const Split& train,
                                             const RunEnv& env,
                                             StageSummary& summary) {
  const data::ChipSampler sampler(o.sampler);
  const data::CocoDataset& ds = *train.dataset;
  const int num_scales = sampler.num_scales();
  const int64_t jobs = static_cast<int64_t>(ds.num_images()) * num_scales;
  Prefetcher<ScaledView> views(jobs, [&](int64_t job) {
    const size_t i = job / num_scales;
    const int s = static_cast<int>(job % num_scales);
    const data::CocoImage& im = ds.image(i);
    const data::ImageAtScale at = data::MakeImageAtScale(
        sampler.options(), s, im.width, im.height, sampler.options().stride);
    return RenderView(ds, train.image_dir, sampler, i, s,
                      {0, 0, at.scaled_width, at.scaled_height}, o.render);
  });
  data::ProposalSet set(num_scales);
  std::vector<std::vector<data::ScoredBox>> per_scale(num_scales);
  const Clock::time_point start = Clock::now();
  for (int64_t job = 0; job < jobs; ++job) {
    const size_t i = job / num_scales;
    const int s = static_cast<int>(job % num_scales);
    ASSIGN_OR_RETURN(const ScaledView view, views.Next());
    per_scale[s] = ProposalsOf(model, view, env);
    summary.proposals += static_cast<int64_t>(per_scale[s].size());
    if (s < num_scales - 1) continue;
    set.Set(ds.image(i).id, per_scale);
    ++summary.images;
    if ((i + 1) % 50 == 0 || i + 1 == ds.num_images()) {
      const double dt = Seconds(start);
      env.log->Progress(absl::StrFormat(
          "[proposals] %d/%d images  %.2f images/s  ETA %s", i + 1,
          ds.num_images(), (i + 1) / dt,
          FormatDuration(dt / (i + 1) * (ds.num_images() - i - 1))));
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
  torch::NoGradGuard no_grad;
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(const data::ProposalSet set,
                   ProposeAll(model, options, train, env, summary));
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
