#include "inference/options.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::inference {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

data::ChipSamplerConfig Training() {
  data::ChipSamplerConfig t;
  t.add_scales()->mutable_size()->set_long_side(512);
  auto* coarse = t.add_scales();
  coarse->mutable_size()->set_long_side(320);
  coarse->mutable_valid_range()->set_min(100);
  return t;
}

TEST(InferenceOptionsTest, NoTestScalesTakesTheFirstTrainingSizeUnlimited) {
  InferenceConfig e;
  e.set_merge(InferenceConfig::SOFT_NMS);
  ASSERT_OK_AND_ASSIGN(InferenceOptions o,
                       BuildInferenceOptions(e, Training(), "X.eval"));
  ASSERT_EQ(o.scales.scales.size(), 1u);
  EXPECT_EQ(o.scales.mode, data::ChipMode::kWholeImage);
  EXPECT_TRUE(o.soft_nms);
  EXPECT_FALSE(o.batch_norm_per_batch);
  e.set_batch_norm(InferenceConfig::PER_BATCH);
  ASSERT_OK_AND_ASSIGN(o, BuildInferenceOptions(e, Training(), "X.eval"));
  EXPECT_TRUE(o.batch_norm_per_batch);
}

TEST(InferenceOptionsTest, ErrorsNameTheFullFieldPath) {
  InferenceConfig e;
  e.set_nms_threshold(0);
  EXPECT_THAT(BuildInferenceOptions(e, Training(), "PipelineConfig.eval"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("PipelineConfig.eval.nms_threshold: must be "
                                 "in (0, 1], got 0")));
  InferenceConfig bad_range;
  auto* s = bad_range.add_scales();
  s->mutable_size()->set_long_side(512);
  s->mutable_valid_range()->set_min(50);
  s->mutable_valid_range()->set_max(20);
  EXPECT_THAT(
      BuildInferenceOptions(bad_range, Training(), "PipelineConfig.eval"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("PipelineConfig.eval.scales[0].valid_range")));
  EXPECT_THAT(
      BuildInferenceOptions(InferenceConfig(), data::ChipSamplerConfig(), "E"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("E.scales: set at least one test scale")));
  // One field out of range at a time: the error names it.
  const std::vector<
      std::pair<std::function<void(InferenceConfig*)>, std::string>>
      cases = {
          {[](InferenceConfig* c) { c->set_batch_size(0); },
           "InferenceConfig.batch_size"},
          {[](InferenceConfig* c) { c->set_max_batch_padding(-0.1f); },
           "InferenceConfig.max_batch_padding: must be >= 0"},
          {[](InferenceConfig* c) { c->set_max_batch_pixels(-1); },
           "InferenceConfig.max_batch_pixels: must be >= 0"},
          {[](InferenceConfig* c) { c->set_canvas_multiple(-32); },
           "InferenceConfig.canvas_multiple: must be 0 (the device's "
           "default) or a positive multiple of 32, got -32"},
          {[](InferenceConfig* c) { c->set_canvas_multiple(48); },
           "InferenceConfig.canvas_multiple: must be 0 (the device's "
           "default) or a positive multiple of 32, got 48"},
          {[](InferenceConfig* c) { c->set_proposal_size_margin(0.5f); },
           "InferenceConfig.proposal_size_margin: must be 0 (off) or >= 1, "
           "got 0.5"},
          {[](InferenceConfig* c) { c->set_proposal_size_margin(-1); },
           "InferenceConfig.proposal_size_margin: must be 0 (off) or >= 1"},
          {[](InferenceConfig* c) {
             data::ScaleConfig* s = c->add_scales();
             s->mutable_size()->set_long_side(512);
             s->set_test_post_nms_top_n(0);
           },
           "InferenceConfig.scales[0].test_post_nms_top_n: must be >= 1, "
           "got 0"},
          {[](InferenceConfig* c) {
             c->set_batch_norm(InferenceConfig::BATCH_NORM_UNSPECIFIED);
           },
           "InferenceConfig.batch_norm: must be RUNNING or PER_BATCH"},
      };
  for (const auto& [set, message] : cases) {
    InferenceConfig c;
    set(&c);
    EXPECT_THAT(
        BuildInferenceOptions(c, Training()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)));
  }
  // The proposal size margin: 1 by default, 0 turns the filter off.
  InferenceConfig margin;
  EXPECT_DOUBLE_EQ(
      BuildInferenceOptions(margin, Training())->proposal_size_margin, 1.0);
  margin.set_proposal_size_margin(0);
  EXPECT_DOUBLE_EQ(
      BuildInferenceOptions(margin, Training())->proposal_size_margin, 0.0);
  margin.set_proposal_size_margin(1.5f);
  EXPECT_DOUBLE_EQ(
      BuildInferenceOptions(margin, Training())->proposal_size_margin, 1.5);
  // Per-scale proposal counts: 0 where a scale keeps the model's.
  InferenceConfig counts;
  counts.add_scales()->mutable_size()->set_long_side(1024);
  counts.add_scales()->mutable_size()->set_long_side(256);
  counts.mutable_scales(1)->set_test_post_nms_top_n(150);
  absl::StatusOr<InferenceOptions> o =
      BuildInferenceOptions(counts, Training());
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->scales.scales.size(), 2u);
  EXPECT_EQ(o->scales.scales[0].test_post_nms_top_n, 0);
  EXPECT_EQ(o->scales.scales[1].test_post_nms_top_n, 150);
}

TEST(InferenceOptionsTest, AutoFocusNeedsOneValidStepPerScaleButTheFinest) {
  InferenceConfig e;
  *e.mutable_scales() = Training().scales();
  e.mutable_autofocus()->set_enabled(true);
  EXPECT_THAT(BuildInferenceOptions(e, Training(), "P.eval"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("P.eval.autofocus.steps: needs one step per "
                                 "test scale but the finest (1), got 0")));
  AutoFocusConfig::Step* step = e.mutable_autofocus()->add_steps();
  step->set_threshold(0.25);
  step->set_dilation(1);
  step->set_min_size(4);
  ASSERT_OK_AND_ASSIGN(InferenceOptions o,
                       BuildInferenceOptions(e, Training(), "P.eval"));
  EXPECT_TRUE(o.autofocus);
  ASSERT_EQ(o.focus_steps.size(), 1u);
  EXPECT_DOUBLE_EQ(o.focus_steps[0].threshold, 0.25);
  EXPECT_EQ(o.focus_steps[0].dilation, 1);
  EXPECT_EQ(o.focus_steps[0].min_size, 4);
  step->set_dilation(2);
  EXPECT_THAT(BuildInferenceOptions(e, Training(), "P.eval"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("P.eval.autofocus.steps[0].dilation: must "
                                 "be odd and >= 1, got 2")));
  step->set_dilation(3);
  step->set_threshold(1.5);
  EXPECT_THAT(BuildInferenceOptions(e, Training(), "P.eval"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("steps[0].threshold: must be in [0, 1]")));
  // One test scale has no finer scale to focus on.
  InferenceConfig one;
  one.mutable_autofocus()->set_enabled(true);
  EXPECT_THAT(BuildInferenceOptions(one, Training(), "P.eval"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("P.eval.autofocus.enabled: AutoFocus needs "
                                 "at least two test scales")));
  // Off: steps are validated but unused.
  e.mutable_autofocus()->set_enabled(false);
  step->set_threshold(0.5);
  ASSERT_OK_AND_ASSIGN(InferenceOptions off,
                       BuildInferenceOptions(e, Training(), "P.eval"));
  EXPECT_FALSE(off.autofocus);
}

}  // namespace
}  // namespace sniper::inference
