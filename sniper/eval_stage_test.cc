// The eval stage on its own: a detector checkpoint in, the COCO results,
// eval_stats.json (box and mask numbers, speed, network pixels) and the
// example picture out; a missing checkpoint named.
#include "sniper/eval_stage.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Evaluates an untrained detector of `p` (saved as its final checkpoint).
absl::StatusOr<StageSummary> EvaluateUntrained(const Pipeline& p) {
  fs::remove_all(p.work_dir);
  fs::create_directories(p.detector_stage.dir);
  RunLog log(p.work_dir + "/train.log", false, false);
  RunEnv env;
  env.log = &log;
  ASSIGN_OR_RETURN(const Datasets data, LoadDatasets(p.dataset, log));
  torch::manual_seed(4);
  models::FasterRcnn detector(p.eval_stage.model);
  CheckpointState state;
  state.finished = true;
  CheckpointInfo info;
  info.config_text = p.detector_stage.config_text;
  RETURN_IF_ERROR(
      SaveCheckpoint(p.eval_stage.checkpoint, detector, nullptr, state, info));
  return RunEvalStage(p.eval_stage, data.val_split(), env);
}

TEST(EvalStageTest, WritesResultsStatsAndThePicture) {
  const Pipeline p = TinyPipeline("eval_stage");
  ASSERT_OK_AND_ASSIGN(const StageSummary s, EvaluateUntrained(p));
  EXPECT_EQ(s.stage, Stage::kEval);
  EXPECT_EQ(s.images, 4);
  ASSERT_EQ(s.coco_stats.size(), 12u);
  for (double v : s.coco_stats) {
    EXPECT_TRUE(v == -1 || (v >= 0 && v <= 1)) << v;
  }
  EXPECT_TRUE(s.mask_stats.empty());
  const std::string stats = ReadAll(p.work_dir + "/eval_stats.json");
  for (const char* key :
       {"\"stats\"", "\"per_category_ap\"", "\"images_per_s\"",
        "\"pixels_per_image\"", "\"views_per_image_per_scale\": [1, 1, 1]"}) {
    EXPECT_THAT(stats, HasSubstr(key));
  }
  EXPECT_THAT(ReadAll(p.work_dir + "/detections_val.json"),
              HasSubstr("\"image_id\""));
  EXPECT_TRUE(fs::exists(p.work_dir + "/detections.png"));
  EXPECT_THAT(ReadAll(p.work_dir + "/train.log"), HasSubstr("[eval] 4 images"));
}

TEST(EvalStageTest, MaskNumbersWithTheMaskBranchAndAMissingCheckpointNamed) {
  const Pipeline p =
      TinyPipeline("eval_stage_mask",
                   {"model.mask_head.enabled=true",
                    "model.mask_head.channels=16", "eval.draw_example=false"});
  ASSERT_OK_AND_ASSIGN(const StageSummary s, EvaluateUntrained(p));
  EXPECT_EQ(s.mask_stats.size(), 12u);
  EXPECT_THAT(ReadAll(p.work_dir + "/eval_stats.json"),
              HasSubstr("\"segm_stats\""));
  EXPECT_FALSE(fs::exists(p.work_dir + "/detections.png"));

  EvalStageOptions missing = p.eval_stage;
  missing.checkpoint = p.work_dir + "/nothing.pt";
  RunLog log("", false, false);
  RunEnv env;
  env.log = &log;
  ASSERT_OK_AND_ASSIGN(const Datasets data, LoadDatasets(p.dataset, log));
  EXPECT_THAT(RunEvalStage(missing, data.val_split(), env),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("nothing.pt is missing")));
}

}  // namespace
}  // namespace sniper
