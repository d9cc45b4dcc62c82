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

absl::StatusOr<StageSummary> RunProposalsStage(StageContext& ctx) {
  const Pipeline& p = ctx.p;
  const NegativeChipConfig& n = p.config.negatives();
  StageSummary summary;
  summary.stage = Stage::kProposals;
  if (ctx.options.resume && fs::exists(p.proposals_file)) {
    summary.skipped = true;
    ctx.log.Line(
        absl::StrCat("[proposals] already written: ", p.proposals_file));
    return summary;
  }
  if (ctx.dist != nullptr && ctx.dist->rank() != 0) {
    // Rank 0 writes the file; the others wait for it (a dead rank 0 ends
    // the wait at once: the store goes with it).
    RETURN_IF_ERROR(ctx.dist->WaitFor("proposals", std::chrono::hours(72)));
    summary.skipped = true;
    return summary;
  }
  models::FasterRcnnOptions mo = p.rpn_model;
  mo.test_proposals.post_nms_top_n = n.proposals_per_scale();
  mo.test_proposals.nms_threshold = n.proposal_nms();
  ASSIGN_OR_RETURN(models::FasterRcnn model,
                   LoadFinalModel(ctx, Stage::kRpn, mo));
  torch::NoGradGuard no_grad;
  data::ChipSampler sampler(p.sampler);
  const data::CocoDataset& ds = ctx.data.train;
  data::ProposalSet set(sampler.num_scales());
  const Clock::time_point start = Clock::now();
  // Decode the next image while the network runs on this one.
  auto render = [&](size_t i, int s) {
    const data::CocoImage& im = ds.image(i);
    const data::ImageAtScale at = data::MakeImageAtScale(
        sampler.options(), s, im.width, im.height, sampler.options().stride);
    return RenderView(ds, ctx.data.train_images, sampler, i, s,
                      {0, 0, at.scaled_width, at.scaled_height},
                      p.loader.render);
  };
  const int num_scales = sampler.num_scales();
  const int64_t jobs = static_cast<int64_t>(ds.num_images()) * num_scales;
  Prefetcher<ScaledView> views(jobs, [&](int64_t job) {
    return render(job / num_scales, static_cast<int>(job % num_scales));
  });
  std::vector<std::vector<data::ScoredBox>> per_scale(num_scales);
  for (int64_t job = 0; job < jobs; ++job) {
    const size_t i = job / num_scales;
    const int s = static_cast<int>(job % num_scales);
    ASSIGN_OR_RETURN(ScaledView w, views.Next());
    const models::Detections dets =
        DetectOn(model, w.pixels,
                 {{static_cast<double>(w.at.scaled_height),
                   static_cast<double>(w.at.scaled_width)}},
                 ctx.device, ctx.autocast)[0];
    torch::Tensor boxes = (dets.boxes / w.at.scale).contiguous();
    torch::Tensor scores = dets.scores.contiguous();
    per_scale[s].clear();
    for (int64_t k = 0; k < boxes.size(0); ++k) {
      const float* b = boxes.data_ptr<float>() + 4 * k;
      per_scale[s].push_back(
          {{b[0], b[1], b[2], b[3]}, scores.data_ptr<float>()[k]});
    }
    summary.proposals += boxes.size(0);
    if (s == num_scales - 1) {
      set.Set(ds.image(i).id, per_scale);
      ++summary.images;
      if ((i + 1) % 50 == 0 || i + 1 == ds.num_images()) {
        const double dt = Seconds(start);
        ctx.log.Progress(absl::StrFormat(
            "[proposals] %d/%d images  %.2f images/s  ETA %s", i + 1,
            ds.num_images(), (i + 1) / dt,
            FormatDuration(dt / (i + 1) * (ds.num_images() - i - 1))));
      }
    }
  }
  RETURN_IF_ERROR(data::WriteProposals(p.proposals_file, set));
  if (ctx.dist != nullptr) RETURN_IF_ERROR(ctx.dist->Announce("proposals"));
  summary.seconds = Seconds(start);
  ctx.log.Line(absl::StrFormat(
      "[proposals] %d images x %d scales, %d proposals in %s -> %s",
      summary.images, num_scales, summary.proposals,
      FormatDuration(summary.seconds), p.proposals_file));
  return summary;
}

}  // namespace sniper
