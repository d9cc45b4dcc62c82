#include "sniper/config.h"

#include <dirent.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "configs/default_synthetic_embedded.h"
#include "experiment/matrix.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<Pipeline> Build(const std::vector<std::string>& sets,
                               const std::string& file = "") {
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", file, sets);
  if (!merged.ok()) return merged.status();
  return BuildPipeline(*merged);
}

TEST(ConfigTest, DefaultBuildsWithAllFourStages) {
  ASSERT_OK_AND_ASSIGN(Pipeline p, Build({}));
  EXPECT_EQ(p.stages, (std::vector<Stage>{Stage::kRpn, Stage::kProposals,
                                          Stage::kDetector, Stage::kEval}));
  EXPECT_EQ(p.sampler.scales.size(), 3u);
  EXPECT_TRUE(p.rpn_model.rpn_only);
  EXPECT_FALSE(p.model.rpn_only);
  EXPECT_EQ(p.model.num_classes, 5);
  EXPECT_EQ(p.eval.scales.mode, data::ChipMode::kWholeImage);
  EXPECT_EQ(p.eval.scales.scales.size(), 3u);
  EXPECT_FALSE(p.eval.soft_nms);
  EXPECT_EQ(p.proposals_file, p.work_dir + "/proposals.bin");
  EXPECT_THAT(p.work_dir, HasSubstr("sniper_runs/default_synthetic"));
  // One seed drives every component.
  EXPECT_EQ(p.sampler.seed, p.config.seed());
  EXPECT_EQ(p.loader.seed, p.config.seed());
  EXPECT_FALSE(p.config.dataset().synthetic().cache_dir().empty());
}

TEST(ConfigTest, SetsOverrideScalarsListsAndMessages) {
  ASSERT_OK_AND_ASSIGN(
      Pipeline p,
      Build({"optimizer.base_lr=0.005", "schedule.decay_epochs=[2, 4.5]",
             "sampler.scales[1].valid_range.max=120", "seed=7",
             "negatives.source=NONE", "name=abc",
             "output.work_dir=/tmp/sniper_config_test"}));
  EXPECT_FLOAT_EQ(p.config.optimizer().base_lr(), 0.005f);
  EXPECT_THAT(p.config.schedule().decay_epochs(),
              ::testing::ElementsAre(2.0f, 4.5f));
  EXPECT_FLOAT_EQ(p.sampler.scales[1].valid_max, 120.0f);
  EXPECT_FLOAT_EQ(p.sampler.scales[1].valid_min, 32.0f);  // merged, kept
  EXPECT_EQ(p.sampler.seed, 7u);
  EXPECT_EQ(p.stages, (std::vector<Stage>{Stage::kDetector, Stage::kEval}));
  EXPECT_TRUE(p.proposals_file.empty());
  EXPECT_EQ(p.work_dir, "/tmp/sniper_config_test");
  // Other fields keep the default's values.
  EXPECT_FLOAT_EQ(p.config.optimizer().momentum(), 0.9f);
}

TEST(ConfigTest, RepeatedMessageInALaterLayerReplacesTheList) {
  ASSERT_OK_AND_ASSIGN(Pipeline p,
                       Build({"sampler.scales={ size { long_side: 512 } }",
                              "eval.scales={ size { long_side: 512 } }"}));
  ASSERT_EQ(p.sampler.scales.size(), 1u);
  EXPECT_EQ(p.sampler.scales[0].long_side, 512);
}

TEST(ConfigTest, BadAssignmentsNameThePath) {
  EXPECT_THAT(Build({"optimizer.base_rate=1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has no field 'base_rate'")));
  EXPECT_THAT(Build({"optimizer.base_lr=fast"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("optimizer.base_lr")));
  EXPECT_THAT(Build({"sampler.scales[5].valid_range.max=1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("index 5 but scales has 3 elements")));
  EXPECT_THAT(
      Build({"schedule.decay_epochs=3"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("takes a list")));
  EXPECT_THAT(Build({"no_equals_sign"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected path=value")));
}

TEST(ConfigTest, ValidationErrorsNameTheField) {
  const struct {
    std::string set;
    std::string message;
  } cases[] = {
      {"optimizer.base_lr=0", "PipelineConfig.optimizer.base_lr: must be > 0"},
      {"optimizer.momentum=1", "PipelineConfig.optimizer.momentum"},
      {"schedule.epochs=0", "PipelineConfig.schedule.epochs"},
      {"schedule.decay_epochs=[3, 2]",
       "PipelineConfig.schedule.decay_epochs[1]"},
      {"negatives.rpn_schedule.warmup_steps=-1",
       "PipelineConfig.negatives.rpn_schedule.warmup_steps"},
      {"model.backbone.depth=19",
       "PipelineConfig.model.backbone.depth: must be 18, 34, 50 or 101, got "
       "19"},
      {"model.train_proposals.nms_threshold=2",
       "PipelineConfig.model.train_proposals.nms_threshold: must be in [0, "
       "1]"},
      {"sampler.scales[1].valid_range.min=500",
       "PipelineConfig.sampler.scales[1].valid_range"},
      {"loader.mean=[1, 2]", "PipelineConfig.loader.mean: needs 3 values"},
      {"sampler.chip_size=0", "PipelineConfig.sampler.chip_size"},
      {"loader.batch_size=0", "PipelineConfig.loader.batch_size"},
      {"model.rpn_only=true", "PipelineConfig.model.rpn_only"},
      {"dataset.coco.train_images=x",
       "PipelineConfig.dataset.coco: set "
       "train_annotations and train_images"},
      {"negatives.source=FILE", "PipelineConfig.negatives.proposals_file"},
      {"output.keep_checkpoints=0", "PipelineConfig.output"},
      {"name=a/b", "PipelineConfig.name"},
      {"device=gpu", "PipelineConfig.device: must be cpu, cuda, cuda:N"},
      {"device=cuda:x", "PipelineConfig.device"},
      {"optimizer.initial_loss_scale=0", "PipelineConfig.optimizer"},
      {"eval.merge=MERGE_UNSPECIFIED", "PipelineConfig.eval.merge"},
      {"eval.max_tile_side=32", "PipelineConfig.eval.max_tile_side"},
      {"eval.nms_threshold=0", "PipelineConfig.eval.nms_threshold"},
      {"optimizer.max_nonfinite_steps_in_a_row=0",
       "PipelineConfig.optimizer.max_nonfinite_steps_in_a_row"},
      {"eval.autofocus.steps[1].dilation=4",
       "PipelineConfig.eval.autofocus.steps[1].dilation: must be odd"},
      {"eval.autofocus.min_chip_proposals=-1",
       "PipelineConfig.eval.autofocus.min_chip_proposals"},
      {"model.focus.dont_care_max=10", "PipelineConfig.model.focus"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(Build({c.set}), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(c.message)))
        << c.set;
  }
}

TEST(ConfigTest, AutoFocusNeedsTheFocusBranch) {
  // The default trains the branch, so AutoFocus inference builds.
  ASSERT_OK_AND_ASSIGN(Pipeline p, Build({"eval.autofocus.enabled=true"}));
  EXPECT_TRUE(p.eval.autofocus);
  EXPECT_TRUE(p.model.has_focus());
  EXPECT_EQ(p.eval.focus_steps.size(), 2u);
  EXPECT_THAT(
      Build({"eval.autofocus.enabled=true", "model.focus.enabled=false"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("PipelineConfig.eval.autofocus.enabled: "
                         "AutoFocus reads the model's focus maps")));
}

TEST(ConfigTest, WholeImageTrainingNeedsNoNegatives) {
  EXPECT_THAT(Build({"sampler.mode=WHOLE_IMAGE", "sampler.chip_size=1536"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("negatives.source")));
  ASSERT_OK_AND_ASSIGN(
      Pipeline p, Build({"sampler.mode=WHOLE_IMAGE", "sampler.chip_size=1536",
                         "negatives.source=NONE"}));
  EXPECT_EQ(p.stages, (std::vector<Stage>{Stage::kDetector, Stage::kEval}));
}

TEST(ConfigTest, WholeImageCanvasMustHoldTheLargestResizedImage) {
  // The default's finest scale resizes long sides to 1536.
  EXPECT_THAT(
      Build({"sampler.mode=WHOLE_IMAGE", "negatives.source=NONE",
             "sampler.chip_size=1024"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("PipelineConfig.sampler.chip_size: whole-image "
                         "training renders each resized image into a "
                         "chip_size x chip_size canvas; scales[0] resizes "
                         "long sides up to 1536, so chip_size must be at "
                         "least 1536, got 1024")));
  EXPECT_OK(
      Build({"sampler.mode=WHOLE_IMAGE", "negatives.source=NONE",
             "sampler.chip_size=1024", "sampler.scales[0].size.long_side=1024"})
          .status());
}

TEST(ConfigTest, MissingConfigFileIsAnError) {
  absl::StatusOr<Pipeline> p = Build({}, "/nonexistent/x.pbtxt");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("/nonexistent/x.pbtxt"));
}

// Every pipeline config in configs/ parses over the default and builds
// (sampler-only files, *_sampler.pbtxt, are checked by data/).
TEST(ConfigTest, AllPipelineConfigsBuild) {
  DIR* d = ::opendir("configs");
  ASSERT_NE(d, nullptr) << "configs/ not in runfiles";
  std::vector<std::string> built;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 7 || name.substr(name.size() - 6) != ".pbtxt" ||
        name.find("_sampler.pbtxt") != std::string::npos) {
      continue;
    }
    absl::StatusOr<Pipeline> p = Build({}, "configs/" + name);
    EXPECT_TRUE(p.ok()) << name << ": " << p.status();
    if (p.ok()) {
      EXPECT_EQ(p->config.name() + ".pbtxt", name)
          << "a config's name should match its file";
    }
    built.push_back(name);
  }
  ::closedir(d);
  EXPECT_THAT(
      built,
      ::testing::IsSupersetOf(
          {"default_synthetic.pbtxt", "coco_sniper_r50.pbtxt",
           "coco_sniper_r101.pbtxt", "coco_single_scale_r50.pbtxt",
           "synthetic_single_scale.pbtxt", "coco_mini_rpn.pbtxt",
           "coco_sniper_mask_r50.pbtxt", "coco_sniper_mask_r101.pbtxt",
           "synthetic_mask.pbtxt", "synthetic_snip.pbtxt",
           "coco_snip_r50.pbtxt", "coco_mini_voc.pbtxt",
           "coco_sniper_mobilenetv2.pbtxt", "synthetic_mobilenetv2.pbtxt"}));
}

// Every run of the shipped experiment matrices builds: its config file and
// --set lines (//tools:experiment hands them to //sniper:train) validate.
TEST(ConfigTest, ExperimentMatrixRunsBuild) {
  ASSERT_OK_AND_ASSIGN(
      experiment::Matrix m,
      experiment::LoadMatrix("configs/experiments/paper_miniature.pbtxt", ".",
                             "/tmp/unused"));
  for (const experiment::Cell& c : m.cells) {
    std::string file;
    std::vector<std::string> sets;
    for (const std::string& a : c.args) {
      if (a.rfind("--config=", 0) == 0) file = a.substr(9);
      if (a.rfind("--set=", 0) == 0) sets.push_back(a.substr(6));
    }
    absl::StatusOr<Pipeline> p = Build(sets, file);
    EXPECT_TRUE(p.ok()) << m.variants[c.variant].name << " seed " << c.seed
                        << ": " << p.status();
    if (p.ok()) {
      EXPECT_EQ(p->config.seed(), c.seed);
    }
  }
}

// SNIP differs from SNIPER only in the sampler: whole images at the same
// scales with the same valid ranges, so no negative chips (and, on COCO, a
// batch of whole images that fits with its learning rate).
TEST(ConfigTest, SnipConfigsAreSniperWithWholeImages) {
  struct Pair {
    const char* sniper;
    const char* snip;
  };
  for (const Pair& c :
       {Pair{"", "configs/synthetic_snip.pbtxt"},
        Pair{"configs/coco_sniper_r50.pbtxt", "configs/coco_snip_r50.pbtxt"}}) {
    ASSERT_OK_AND_ASSIGN(Pipeline sniper, Build({}, c.sniper));
    ASSERT_OK_AND_ASSIGN(Pipeline snip, Build({}, c.snip));
    EXPECT_EQ(snip.sampler.mode, data::ChipMode::kWholeImage) << c.snip;
    EXPECT_EQ(snip.stages,
              (std::vector<Stage>{Stage::kDetector, Stage::kEval}));
    ASSERT_EQ(snip.sampler.scales.size(), sniper.sampler.scales.size());
    for (size_t i = 0; i < snip.sampler.scales.size(); ++i) {
      const data::ScaleSpec &a = sniper.sampler.scales[i],
                            &b = snip.sampler.scales[i];
      EXPECT_EQ(a.long_side, b.long_side);
      EXPECT_EQ(a.short_side, b.short_side);
      EXPECT_EQ(a.max_long_side, b.max_long_side);
      EXPECT_EQ(a.valid_min, b.valid_min);
      EXPECT_EQ(a.valid_max, b.valid_max);
    }
    PipelineConfig a = sniper.config, b = snip.config;
    for (PipelineConfig* x : {&a, &b}) {
      x->clear_name();
      x->clear_sampler();
      x->clear_negatives();
      x->mutable_output()->clear_work_dir();
    }
    if (std::string(c.sniper).empty()) {
      EXPECT_EQ(a.DebugString(), b.DebugString()) << c.snip;
    } else {
      EXPECT_EQ(b.loader().batch_size(), 4);
      EXPECT_FLOAT_EQ(b.optimizer().base_lr(),
                      a.optimizer().base_lr() * 4 / a.loader().batch_size());
      b.mutable_loader()->set_batch_size(a.loader().batch_size());
      b.mutable_optimizer()->set_base_lr(a.optimizer().base_lr());
      EXPECT_EQ(a.DebugString(), b.DebugString()) << c.snip;
    }
  }
}

TEST(ConfigTest, MaskConfigsAreTheBoxConfigsWithTheMaskBranch) {
  for (const char* depth : {"50", "101"}) {
    ASSERT_OK_AND_ASSIGN(
        Pipeline box,
        Build({}, absl::StrCat("configs/coco_sniper_r", depth, ".pbtxt")));
    ASSERT_OK_AND_ASSIGN(
        Pipeline mask,
        Build({}, absl::StrCat("configs/coco_sniper_mask_r", depth, ".pbtxt")));
    EXPECT_FALSE(box.model.has_mask());
    EXPECT_TRUE(mask.model.has_mask());
    EXPECT_EQ(mask.model.mask.resolution, 28);
    EXPECT_EQ(mask.model.backbone.depth, box.model.backbone.depth);
    // Everything else comes from the box config it is layered over.
    PipelineConfig a = box.config, b = mask.config;
    a.clear_name();
    b.clear_name();
    b.mutable_model()->clear_mask_head();
    a.mutable_output()->clear_work_dir();  // derived from the name
    b.mutable_output()->clear_work_dir();
    EXPECT_EQ(a.DebugString(), b.DebugString()) << depth;
  }
  ASSERT_OK_AND_ASSIGN(Pipeline synthetic,
                       Build({}, "configs/synthetic_mask.pbtxt"));
  EXPECT_TRUE(synthetic.model.has_mask());
}

TEST(ConfigTest, LayeredOverAppliesBaseFilesFirstAndRejectsCycles) {
  const std::string dir = ::testing::TempDir();
  auto write = [&dir](const std::string& name, const std::string& text) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  write("base.pbtxt", "name: \"base\" seed: 7 optimizer { base_lr: 0.5 }");
  write("mid.pbtxt",
        "name: \"mid\" layered_over: \"base.pbtxt\" optimizer { base_lr: "
        "0.25 }");
  write("top.pbtxt", "name: \"top\" layered_over: \"mid.pbtxt\"");
  ASSERT_OK_AND_ASSIGN(Pipeline p, Build({}, dir + "/top.pbtxt"));
  EXPECT_EQ(p.config.name(), "top");
  EXPECT_EQ(p.config.seed(), 7u);                          // base
  EXPECT_FLOAT_EQ(p.config.optimizer().base_lr(), 0.25f);  // mid wins
  EXPECT_EQ(p.config.layered_over_size(), 0);  // the effective config
  write("a.pbtxt", "layered_over: \"b.pbtxt\"");
  write("b.pbtxt", "layered_over: \"a.pbtxt\"");
  EXPECT_THAT(Build({}, dir + "/a.pbtxt"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("layered_over makes a cycle")));
  write("lost.pbtxt", "layered_over: \"missing.pbtxt\"");
  const absl::StatusOr<Pipeline> lost = Build({}, dir + "/lost.pbtxt");
  ASSERT_FALSE(lost.ok());
  EXPECT_THAT(std::string(lost.status().message()), HasSubstr("missing.pbtxt"));
}

TEST(ConfigTest, CocoConfigsFollowThePaper) {
  ASSERT_OK_AND_ASSIGN(Pipeline p, Build({}, "configs/coco_sniper_r50.pbtxt"));
  EXPECT_EQ(p.sampler.chip_size, 512);
  ASSERT_EQ(p.sampler.scales.size(), 3u);
  EXPECT_EQ(p.sampler.scales[0].short_side, 1400);
  EXPECT_FLOAT_EQ(p.sampler.scales[0].valid_max, 80);
  EXPECT_FLOAT_EQ(p.sampler.scales[2].valid_min, 120);
  EXPECT_EQ(p.model.num_classes, 80);
  EXPECT_EQ(p.model.backbone.depth, 50);
  EXPECT_FLOAT_EQ(p.config.schedule().decay_epochs(0), 5.33f);
  EXPECT_FALSE(p.config.dataset().has_synthetic());
  // AutoFocus with the AutoFocus paper's labels and steps, in every COCO
  // SNIPER config (not the synthetic default's 2-40 px labels).
  for (const char* name : {"coco_sniper_r50", "coco_sniper_r101",
                           "coco_sniper_mobilenetv2", "coco_sniper_mask_r50"}) {
    ASSERT_OK_AND_ASSIGN(Pipeline c,
                         Build({"eval.autofocus.enabled=true"},
                               absl::StrCat("configs/", name, ".pbtxt")));
    EXPECT_TRUE(c.model.has_focus()) << name;
    EXPECT_EQ(c.model.focus_channels, 256) << name;
    EXPECT_DOUBLE_EQ(c.model.focus_labels.small_min, 5) << name;
    EXPECT_DOUBLE_EQ(c.model.focus_labels.small_max, 64) << name;
    EXPECT_DOUBLE_EQ(c.model.focus_labels.dont_care_max, 90) << name;
    ASSERT_EQ(c.eval.focus_steps.size(), 2u) << name;
    EXPECT_DOUBLE_EQ(c.eval.focus_steps[0].threshold, 0.02f) << name;
    EXPECT_DOUBLE_EQ(c.eval.focus_steps[1].threshold, 0.2f) << name;
    EXPECT_EQ(c.eval.focus_steps[0].min_size, 16) << name;
    EXPECT_EQ(c.eval.focus_steps[1].min_size, 20) << name;
  }
  ASSERT_OK_AND_ASSIGN(Pipeline b,
                       Build({}, "configs/coco_single_scale_r50.pbtxt"));
  EXPECT_EQ(b.sampler.mode, data::ChipMode::kWholeImage);
  EXPECT_EQ(b.stages, (std::vector<Stage>{Stage::kDetector, Stage::kEval}));
}

}  // namespace
}  // namespace sniper
