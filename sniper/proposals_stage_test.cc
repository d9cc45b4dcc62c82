// The proposals stage on its own: an RPN checkpoint in, the proposals file
// out, one entry per training image with at most proposals_per_scale boxes
// per scale; kept when resuming; a missing RPN named.
#include "sniper/proposals_stage.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "sniper/checkpoint.h"
#include "sniper/run_log.h"
#include "sniper/testing/tiny_pipeline.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::StatusIs;
using ::sniper::testing::TinyPipeline;
using ::testing::HasSubstr;

// The tiny pipeline's training scales (long sides).
constexpr int kLongSides[] = {640, 400, 200};

TEST(ProposalsStageTest, EveryImageAndScaleFromTheRpnCheckpoint) {
  const Pipeline p =
      TinyPipeline("proposals_stage", {"negatives.proposals_per_scale=20"});
  fs::remove_all(p.work_dir);
  fs::create_directories(p.work_dir);
  RunLog log(p.work_dir + "/train.log", false, false);
  RunEnv env;
  env.log = &log;
  ASSERT_OK_AND_ASSIGN(const Datasets data, LoadDatasets(p.dataset, log));

  // No RPN yet: the stage names what is missing.
  EXPECT_THAT(RunProposalsStage(p.proposals_stage, data.train_split(), env),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("stage rpn has not finished")));

  // An untrained RPN (its random weights propose something everywhere).
  torch::manual_seed(3);
  models::FasterRcnn rpn(p.rpn_stage.model);
  fs::create_directories(p.rpn_stage.dir);
  CheckpointState state;
  state.finished = true;
  CheckpointInfo info;
  info.config_text = p.rpn_stage.config_text;
  ASSERT_OK(SaveCheckpoint(p.proposals_stage.rpn_checkpoint, rpn, nullptr,
                           state, info));
  ASSERT_OK_AND_ASSIGN(
      const StageSummary s,
      RunProposalsStage(p.proposals_stage, data.train_split(), env));
  EXPECT_EQ(s.images, 12);
  ASSERT_OK_AND_ASSIGN(const data::ProposalSet set,
                       data::ReadProposals(p.proposals_stage.proposals_file));
  EXPECT_EQ(set.num_scales(), 3);
  EXPECT_EQ(static_cast<int64_t>(set.num_proposals()), s.proposals);
  ASSERT_EQ(set.num_images(), data.train.num_images());
  for (const data::CocoImage& im : data.train.images()) {
    ASSERT_TRUE(set.Contains(im.id)) << im.id;
    for (int k = 0; k < 3; ++k) {
      const auto boxes = set.Get(im.id, k);
      EXPECT_LE(boxes.size(), 20u);
      // Image pixels, within the image: clipped to the scaled canvas, whose
      // rounded size reaches at most half a scaled pixel past it.
      const float scale =
          static_cast<float>(kLongSides[k]) / std::max(im.width, im.height);
      const float slack = 0.5f / scale + 1e-3f;
      for (const data::ScoredBox& b : boxes) {
        EXPECT_GE(b.box.x1, 0.0f);
        EXPECT_GE(b.box.y1, 0.0f);
        EXPECT_LE(b.box.x2, im.width + slack);
        EXPECT_LE(b.box.y2, im.height + slack);
      }
    }
  }
  EXPECT_GT(set.num_proposals(), 12u);

  // Resuming keeps the file.
  ProposalsStageOptions resume = p.proposals_stage;
  resume.keep_existing = true;
  ASSERT_OK_AND_ASSIGN(const StageSummary again,
                       RunProposalsStage(resume, data.train_split(), env));
  EXPECT_TRUE(again.skipped);
}

}  // namespace
}  // namespace sniper
