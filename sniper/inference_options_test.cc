#include "sniper/inference_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
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
  InferenceConfig batch;
  batch.set_batch_size(0);
  EXPECT_THAT(BuildInferenceOptions(batch, Training()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("InferenceConfig.batch_size")));
}

}  // namespace
}  // namespace sniper
