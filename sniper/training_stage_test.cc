// The training stage on its own, on the tiny synthetic set: a stage trains
// its schedule's steps, logs the model's loss terms by name, writes
// final.pt with the history, and is skipped when finished; interrupted, it
// resumes to the same weights.
#include "sniper/training_stage.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "sniper/checkpoint.h"
#include "sniper/metrics.h"
#include "sniper/run_log.h"
#include "sniper/testing/tiny_pipeline.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::TinyPipeline;
using ::testing::ElementsAre;

std::string Prepared(const std::string& dir, bool fresh) {
  if (fresh) fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Records the names of every row it is given.
class NamesSink : public MetricsSink {
 public:
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& m) override {
    steps.push_back(step);
    names.clear();
    for (const auto& [name, value] : m.values()) {
      if (IsLossTerm(name)) names.push_back(name);
    }
    return absl::OkStatus();
  }
  std::vector<int64_t> steps;
  std::vector<std::string> names;  // the last row's loss terms
};

// A stage's surroundings: a quiet log, a CPU environment, sinks. `fresh`:
// the work directory emptied first.
struct Harness {
  explicit Harness(const Pipeline& p, bool fresh = true)
      : log(Prepared(p.work_dir, fresh) + "/train.log", /*progress=*/false,
            /*echo=*/false) {
    env.log = &log;
    sinks.AddUnowned(&names);
    sinks.AddUnowned(&history);
  }
  RunLog log;
  RunEnv env;
  NamesSink names;
  LossHistorySink history;
  MetricsFanout sinks;
};

TEST(TrainingStageTest, TrainsLogsTheModelsLossTermsAndSkipsWhenFinished) {
  const Pipeline p = TinyPipeline("training_stage_rpn");
  Harness h(p);
  ASSERT_OK_AND_ASSIGN(const Datasets data, LoadDatasets(p.dataset, h.log));
  ASSERT_OK_AND_ASSIGN(
      StageSummary s, RunTrainingStage(p.rpn_stage, data.train_split(), nullptr,
                                       h.sinks, h.history, h.env));
  EXPECT_FALSE(s.skipped);
  EXPECT_EQ(s.steps, 3);  // negatives.rpn_schedule.max_steps
  EXPECT_THAT(h.names.steps, ElementsAre(1, 2, 3));
  EXPECT_EQ(h.names.names, p.rpn_stage.model.LossNames());
  EXPECT_THAT(h.names.names, ElementsAre("rpn_cls", "rpn_box"));
  ASSERT_TRUE(fs::exists(p.rpn_stage.dir + "/final.pt"));
  models::FasterRcnn model(p.rpn_stage.model);
  ASSERT_OK_AND_ASSIGN(const CheckpointState saved,
                       LoadCheckpoint(p.rpn_stage.dir + "/final.pt", model,
                                      nullptr, torch::Device(torch::kCPU)));
  EXPECT_EQ(saved.history.names, p.rpn_stage.model.LossNames());
  EXPECT_EQ(saved.history.rows.size(), 3u);
  EXPECT_TRUE(saved.finished);

  // Finished: skipped, nothing logged, the history back from final.pt.
  LossHistorySink again;
  NamesSink none;
  ASSERT_OK_AND_ASSIGN(s, RunTrainingStage(p.rpn_stage, data.train_split(),
                                           nullptr, none, again, h.env));
  EXPECT_TRUE(s.skipped);
  EXPECT_TRUE(none.steps.empty());
  EXPECT_EQ(again.history("rpn"), saved.history);
}

TEST(TrainingStageTest, InterruptedDetectorResumesToTheSameWeights) {
  // The detector with its focus branch, no negatives.
  Pipeline p =
      TinyPipeline("training_stage_detector", {"negatives.source=NONE"});
  Harness h(p);
  ASSERT_OK_AND_ASSIGN(const Datasets data, LoadDatasets(p.dataset, h.log));
  ASSERT_OK(RunTrainingStage(p.detector_stage, data.train_split(), nullptr,
                             h.sinks, h.history, h.env)
                .status());
  EXPECT_EQ(h.names.names, p.detector_stage.model.LossNames());
  EXPECT_THAT(h.names.names, ElementsAre("rpn_cls", "rpn_box", "rcnn_cls",
                                         "rcnn_box", "focus"));
  const std::string whole = p.detector_stage.dir + "/final.pt";
  fs::rename(whole, p.work_dir + "/whole.pt");
  fs::remove_all(p.detector_stage.dir);

  TrainingStageOptions stopped = p.detector_stage;
  stopped.interrupt_after_step = 3;
  Harness first(p, /*fresh=*/false);
  ASSERT_OK_AND_ASSIGN(StageSummary s,
                       RunTrainingStage(stopped, data.train_split(), nullptr,
                                        first.sinks, first.history, first.env));
  EXPECT_TRUE(s.interrupted);
  EXPECT_FALSE(fs::exists(whole));
  LossHistorySink history;
  MetricsFanout sinks;
  sinks.AddUnowned(&history);
  ASSERT_OK_AND_ASSIGN(s, RunTrainingStage(p.detector_stage, data.train_split(),
                                           nullptr, sinks, history, first.env));
  EXPECT_EQ(s.steps, 6);
  ASSERT_OK_AND_ASSIGN(auto a, ReadCheckpointWeights(p.work_dir + "/whole.pt"));
  ASSERT_OK_AND_ASSIGN(auto b, ReadCheckpointWeights(whole));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  EXPECT_EQ(history.history("detector").rows.size(), 6u);
}

}  // namespace
}  // namespace sniper
