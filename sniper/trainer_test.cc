// The pipeline end to end on a tiny synthetic set: every stage, its outputs,
// interrupt + resume reaching bitwise the same weights, and the failure
// paths (a work directory holding a run, diverging training).
#include "sniper/trainer.h"

#include <sys/wait.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"
#include "sniper/checkpoint.h"
#include "sniper/config.h"
#include "sniper/event_writer.h"
#include "sniper/testing/tiny_pipeline.h"
#include "sniper/work_dir_lock.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

using ::sniper::testing::TestDir;
using ::sniper::testing::TinyPipeline;

RunOptions Quiet() {
  RunOptions o;
  o.progress = false;
  return o;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TrainerTest, AllStagesThenInterruptAndResumeIsBitwiseIdentical) {
  const Pipeline full = TinyPipeline("full");
  ASSERT_OK_AND_ASSIGN(RunSummary run, RunPipeline(full, Quiet()));
  ASSERT_EQ(run.stages.size(), 4u);
  EXPECT_EQ(run.stages[0].stage, Stage::kRpn);
  EXPECT_EQ(run.stages[0].steps, 3);
  EXPECT_EQ(run.stages[1].stage, Stage::kProposals);
  EXPECT_EQ(run.stages[1].images, 12);
  EXPECT_GT(run.stages[1].proposals, 0);
  EXPECT_EQ(run.stages[2].stage, Stage::kDetector);
  EXPECT_EQ(run.stages[2].steps, 6);
  EXPECT_GT(run.stages[2].chips, 6);
  EXPECT_TRUE(std::isfinite(run.stages[2].final_loss));
  ASSERT_EQ(run.stages[3].coco_stats.size(), 12u);
  for (double v : run.stages[3].coco_stats) {
    EXPECT_TRUE(v == -1 || (v >= 0 && v <= 1)) << v;
  }
  // The loss histories for //sniper:train's loss curve, in stage order.
  ASSERT_EQ(run.losses.size(), 2u);
  EXPECT_EQ(run.losses[0].title, "rpn stage: short-schedule RPN loss");
  EXPECT_EQ(run.losses[0].history.rows.size(), 3u);
  EXPECT_EQ(run.losses[1].history.names.back(), "focus");
  EXPECT_EQ(run.losses[1].history.rows.size(), 6u);
  const std::string w = full.work_dir;
  for (const char* f :
       {"rpn/final.pt", "detector/final.pt", "proposals.bin", "config.pbtxt",
        "train.log", "metrics.csv", "detections.png", "detections_val.json",
        "eval_stats.json"}) {
    EXPECT_TRUE(fs::exists(w + "/" + f)) << f;
  }
  // Each stage's summary file holds what the run returned; the training
  // stages measured their pixels, speed and memory.
  for (const StageSummary& s : run.stages) {
    EXPECT_EQ(ReadAll(StageSummaryPath(w, s.stage)), StageSummaryJson(s))
        << StageName(s.stage);
    EXPECT_GT(s.peak_rss_bytes, 1 << 20) << StageName(s.stage);
  }
  EXPECT_GT(run.stages[2].pixels_per_image, 0);
  EXPECT_GT(run.stages[2].images_per_s, 0);
  EXPECT_NE(ReadAll(StageSummaryPath(w, Stage::kDetector))
                .find("\"pixels_per_image\": "),
            std::string::npos);
  // Checkpoints every 2 steps, the last 2 kept, none at the final step.
  EXPECT_TRUE(fs::exists(w + "/detector/ckpt-00000004.pt"));
  EXPECT_TRUE(fs::exists(w + "/detector/ckpt-00000002.pt"));
  EXPECT_FALSE(fs::exists(w + "/detector/ckpt-00000006.pt"));
  // TensorBoard: losses and throughput per logged step.
  std::string events_file;
  for (const auto& e : fs::directory_iterator(w)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) {
      events_file = e.path().string();
    }
  }
  ASSERT_FALSE(events_file.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<ScalarEvent> events,
                       ReadScalarEvents(events_file));
  int detector_losses = 0, rpn_losses = 0, ap = 0;
  for (const ScalarEvent& e : events) {
    detector_losses += e.tag == "detector/loss";
    rpn_losses += e.tag == "rpn/loss";
    ap += e.tag == "eval/AP50";
  }
  EXPECT_EQ(detector_losses, 6);
  EXPECT_EQ(rpn_losses, 3);
  EXPECT_EQ(ap, 1);

  // The checkpoint carries its config and the class names.
  ASSERT_OK_AND_ASSIGN(CheckpointInfo info,
                       ReadCheckpointInfo(w + "/detector/final.pt"));
  EXPECT_EQ(info.step, 6);
  EXPECT_THAT(
      info.category_names,
      ::testing::ElementsAre("disc", "square", "triangle", "ring", "stripes"));
  EXPECT_EQ(info.category_ids.size(), 5u);
  PipelineConfig saved;
  ASSERT_OK(ParseTextProto(info.config_text, "saved", &saved));
  EXPECT_EQ(saved.schedule().max_steps(), 6);

  // Evaluating that checkpoint from another work directory (what
  // //sniper:eval --checkpoint does) gives the same numbers.
  {
    const Pipeline other = TinyPipeline("eval_only");
    RunOptions eval = Quiet();
    eval.only_stage = Stage::kEval;
    eval.checkpoint = w + "/detector/final.pt";
    ASSERT_OK_AND_ASSIGN(RunSummary e, RunPipeline(other, eval));
    ASSERT_EQ(e.stages.size(), 1u);
    EXPECT_EQ(e.stages[0].coco_stats, run.stages[3].coco_stats);
    EXPECT_FALSE(fs::exists(other.work_dir + "/config.pbtxt"));
    // The eval stage with batched inference (views of a scale from 3
    // images padded together; inference/detector_test checks the detections).
    const Pipeline batched =
        TinyPipeline("eval_batched", {"eval.batch_size=3"});
    ASSERT_OK_AND_ASSIGN(RunSummary eb, RunPipeline(batched, eval));
    ASSERT_EQ(eb.stages[0].coco_stats.size(), 12u);
    for (int k = 0; k < 12; ++k) {
      EXPECT_NEAR(eb.stages[0].coco_stats[k], run.stages[3].coco_stats[k], 0.02)
          << k;
    }
  }

  // A second run in a directory that holds one with another config:
  // refused without flags, naming the difference.
  {
    Pipeline changed = TinyPipeline("full", {"optimizer.base_lr=0.0123"});
    ASSERT_EQ(changed.work_dir, full.work_dir);
    EXPECT_THAT(
        RunPipeline(changed, Quiet()),
        StatusIs(absl::StatusCode::kAlreadyExists,
                 AllOf(HasSubstr("holds checkpoints of an earlier run with "
                                 "another config than its " +
                                 w +
                                 "/config.pbtxt: modified: "
                                 "optimizer.base_lr"),
                       HasSubstr("0.0123"), HasSubstr("pass --resume"))));
    // A torchrun restart continues whatever the config file says.
    setenv("TORCHELASTIC_RESTART_COUNT", "1", 1);
    RunOptions only_rpn = Quiet();
    only_rpn.only_stage = Stage::kRpn;
    absl::StatusOr<RunSummary> restarted = RunPipeline(changed, only_rpn);
    unsetenv("TORCHELASTIC_RESTART_COUNT");
    ASSERT_OK(restarted.status());
    EXPECT_TRUE(restarted->stages[0].skipped);  // finished: nothing to do
    EXPECT_THAT(ReadAll(w + "/train.log"),
                HasSubstr("torchrun restarted the workers (restart 1)"));
    // (it wrote its config: put the run's back for what follows)
    ASSERT_OK(WriteTextProtoFile(w + "/config.pbtxt", full.config));
  }
  // The same config without flags continues it as --resume would.
  {
    ASSERT_OK_AND_ASSIGN(RunSummary same, RunPipeline(full, Quiet()));
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(same.stages[k].skipped) << k;
    EXPECT_THAT(ReadAll(w + "/train.log"),
                HasSubstr("holds checkpoints of an earlier run (the same "
                          "config as its " +
                          w + "/config.pbtxt): continuing it"));
  }
  // --resume on a finished run: everything is skipped or recomputed the
  // same way (evaluation).
  RunOptions resume = Quiet();
  resume.resume = true;
  ASSERT_OK_AND_ASSIGN(RunSummary again, RunPipeline(full, resume));
  EXPECT_TRUE(again.stages[0].skipped);
  EXPECT_TRUE(again.stages[1].skipped);
  EXPECT_TRUE(again.stages[2].skipped);
  EXPECT_EQ(again.stages[3].coco_stats, run.stages[3].coco_stats);
  // Skipped stages keep the summaries of the run that did them.
  EXPECT_EQ(ReadAll(StageSummaryPath(w, Stage::kDetector)),
            StageSummaryJson(run.stages[2]));

  // Interrupted after detector step 3 (between checkpoints), then resumed.
  const Pipeline split = TinyPipeline("split");
  RunOptions interrupt = Quiet();
  interrupt.interrupt_after_step = 3;
  ASSERT_OK_AND_ASSIGN(RunSummary first, RunPipeline(split, interrupt));
  ASSERT_EQ(first.stages.size(), 3u);
  EXPECT_TRUE(first.stages[2].interrupted);
  EXPECT_EQ(first.stages[2].steps, 3);
  EXPECT_FALSE(fs::exists(split.work_dir + "/detector/final.pt"));
  // An interrupted stage leaves no summary; its resumed end writes one.
  EXPECT_FALSE(fs::exists(StageSummaryPath(split.work_dir, Stage::kDetector)));
  EXPECT_TRUE(fs::exists(StageSummaryPath(split.work_dir, Stage::kRpn)));
  ASSERT_OK_AND_ASSIGN(RunSummary second, RunPipeline(split, resume));
  EXPECT_EQ(ReadAll(StageSummaryPath(split.work_dir, Stage::kDetector)),
            StageSummaryJson(second.stages[2]));
  EXPECT_EQ(second.stages[2].steps, 6);
  EXPECT_EQ(second.stages[2].chips, run.stages[2].chips);

  // Same proposals, same detector weights, bit for bit.
  EXPECT_EQ(ReadAll(w + "/proposals.bin"),
            ReadAll(split.work_dir + "/proposals.bin"));
  ASSERT_OK_AND_ASSIGN(const auto a,
                       ReadCheckpointWeights(w + "/detector/final.pt"));
  ASSERT_OK_AND_ASSIGN(
      const auto b,
      ReadCheckpointWeights(split.work_dir + "/detector/final.pt"));
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 50u);
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  EXPECT_EQ(second.stages[3].coco_stats, run.stages[3].coco_stats);

  // Interrupted after detector step 5, then the newest checkpoint damaged
  // and a kill's leftovers planted (a checkpoint's temporary file of a dead
  // process, a metrics row cut short): the resume falls back to the
  // previous checkpoint, removes the leftovers, writes no metrics row
  // twice, and still ends bit for bit on the same weights.
  const Pipeline damaged = TinyPipeline("damaged");
  interrupt.interrupt_after_step = 5;
  ASSERT_OK(RunPipeline(damaged, interrupt).status());
  const std::string dd = damaged.work_dir + "/detector";
  const auto kept = ListCheckpoints(dd);
  ASSERT_EQ(kept.size(), 2u);
  const std::string newest = kept[1].second, previous = kept[0].second;
  fs::resize_file(newest, fs::file_size(newest) / 2);
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale =
      dd + "/ckpt-00000006.pt.tmp." + std::to_string(dead);
  std::ofstream(stale) << "partial checkpoint";
  std::ofstream(damaged.work_dir + "/metrics.csv", std::ios::app)
      << "detector,6,1,0.0";
  ASSERT_OK_AND_ASSIGN(RunSummary healed, RunPipeline(damaged, resume));
  EXPECT_EQ(healed.stages[2].steps, 6);
  EXPECT_TRUE(fs::exists(newest + ".damaged"));
  EXPECT_FALSE(fs::exists(stale));
  ASSERT_OK_AND_ASSIGN(const auto c, ReadCheckpointWeights(dd + "/final.pt"));
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(c.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, c.at(name))) << name;
  }
  {
    std::istringstream csv(ReadAll(damaged.work_dir + "/metrics.csv"));
    std::set<std::string> seen;
    std::string line;
    int rows = 0;
    while (std::getline(csv, line)) {
      const std::string key =
          line.substr(0, line.find(',', line.find(',') + 1));
      EXPECT_TRUE(seen.insert(key).second) << "row twice: " << line;
      ++rows;
    }
    EXPECT_GT(rows, 6);
  }
  const std::string log = ReadAll(damaged.work_dir + "/train.log");
  EXPECT_THAT(log, HasSubstr("resuming from the previous " + previous));
  EXPECT_THAT(log, HasSubstr("removed " + stale));

  // --overwrite starts over.
  RunOptions overwrite = Quiet();
  overwrite.overwrite = true;
  overwrite.only_stage = Stage::kRpn;
  ASSERT_OK_AND_ASSIGN(RunSummary fresh, RunPipeline(split, overwrite));
  ASSERT_EQ(fresh.stages.size(), 1u);
  EXPECT_FALSE(fresh.stages[0].skipped);
}

TEST(TrainerTest, ASecondRunOnAWorkDirectoryInUseIsRefused) {
  const Pipeline p = TinyPipeline("in_use");
  fs::create_directories(p.work_dir);
  // Another run holds the directory (the lock conflicts between two opens
  // of the file, also within one process).
  ASSERT_OK_AND_ASSIGN(const WorkDirLock holder,
                       WorkDirLock::Acquire(p.work_dir));
  for (const bool overwrite : {false, true}) {
    RunOptions o = Quiet();
    o.overwrite = overwrite;
    o.resume = !overwrite;
    EXPECT_THAT(RunPipeline(p, o),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(p.work_dir +
                                   " is in use by another run "
                                   "(pid " +
                                   std::to_string(getpid()) + " on host ")))
        << "overwrite " << overwrite;
  }
  // Refused before touching anything.
  EXPECT_FALSE(fs::exists(p.work_dir + "/config.pbtxt"));
  EXPECT_FALSE(fs::exists(p.work_dir + "/train.log"));
}

TEST(TrainerTest, DivergingTrainingStopsWithAClearMessage) {
  const Pipeline p = TinyPipeline(
      "diverge", {"optimizer.base_lr=1e30", "optimizer.clip_grad_norm=0",
                  "negatives.rpn_schedule.warmup_steps=0",
                  "negatives.rpn_schedule.max_steps=12",
                  "optimizer.max_nonfinite_steps_in_a_row=2"});
  EXPECT_THAT(RunPipeline(p, Quiet()),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("2 non-finite steps in a row")));
}

TEST(TrainerTest, DetectorStageAloneNeedsTheProposals) {
  const Pipeline p = TinyPipeline("alone");
  RunOptions o = Quiet();
  o.only_stage = Stage::kDetector;
  absl::StatusOr<RunSummary> r = RunPipeline(p, o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("proposals.bin"));
}

// BF16 autocast runs on the CPU too (convolutions and matrix products in
// bfloat16, losses and detection ops in float32).
TEST(TrainerTest, Bf16AutocastTrainsAndEvaluates) {
  const Pipeline p =
      TinyPipeline("bf16", {"precision=BF16", "negatives.source=NONE"});
  ASSERT_OK_AND_ASSIGN(RunSummary run, RunPipeline(p, Quiet()));
  ASSERT_EQ(run.stages.size(), 2u);
  EXPECT_EQ(run.stages[0].steps, 6);
  EXPECT_EQ(run.stages[0].nonfinite_steps, 0);
  EXPECT_TRUE(std::isfinite(run.stages[0].final_loss));
  EXPECT_EQ(run.stages[1].coco_stats.size(), 12u);
}

// The mask branch end to end: segmentations from the synthetic dataset,
// mask targets on the chips, a "mask" loss in the metrics, masks pasted
// into the validation images, COCO segm metrics and RLE segmentations in
// the results file.
TEST(TrainerTest, MaskBranchTrainsAndEvaluatesSegm) {
  const Pipeline p = TinyPipeline(
      "mask", {"negatives.source=NONE", "model.mask_head.enabled=true",
               "model.mask_head.channels=16", "model.mask_head.convs=1"});
  ASSERT_OK_AND_ASSIGN(RunSummary run, RunPipeline(p, Quiet()));
  ASSERT_EQ(run.stages.size(), 2u);
  EXPECT_EQ(run.stages[0].nonfinite_steps, 0);
  EXPECT_EQ(run.stages[1].coco_stats.size(), 12u);
  ASSERT_EQ(run.stages[1].mask_stats.size(), 12u);
  for (double v : run.stages[1].mask_stats) {
    EXPECT_TRUE(v == -1 || (v >= 0 && v <= 1)) << v;
  }
  const std::string metrics = ReadAll(p.work_dir + "/metrics.csv");
  EXPECT_NE(metrics.find("mask"), std::string::npos);
  const std::string results = ReadAll(p.work_dir + "/detections_val.json");
  EXPECT_NE(results.find("\"segmentation\""), std::string::npos);
  EXPECT_NE(ReadAll(p.work_dir + "/eval_stats.json").find("segm_stats"),
            std::string::npos);
}

TEST(TrainerTest, DeviceAndPrecisionAreChecked) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THAT(
      RunPipeline(TinyPipeline("fp16", {"precision=FP16", "device=cpu"}),
                  Quiet()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("FP16 needs a CUDA device")));
  EXPECT_THAT(RunPipeline(TinyPipeline("cuda", {"device=cuda"}), Quiet()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no CUDA device")));
}

TEST(TrainerTest, WrongClassCountIsReported) {
  const Pipeline p = TinyPipeline("classes", {"model.num_classes=80"});
  EXPECT_THAT(RunPipeline(p, Quiet()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 5 categories")));
}

}  // namespace
}  // namespace sniper
