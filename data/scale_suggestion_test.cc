#include "data/scale_suggestion.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler_builder.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

ScaleSuggestionOptions Options() {
  ScaleSuggestionOptions o;
  const absl::Status a =
      ParseTextProto(embedded::kCocoSniperSampler, "sampler", &o.base);
  const absl::Status b = ParseTextProto(embedded::kCocoSingleScaleSampler,
                                        "baseline", &o.baseline);
  CHECK(a.ok() && b.ok()) << a << b;
  return o;
}

// `n` images of w x h, each with square boxes of the given sides spread
// over the image.
CocoDataset Boxes(int n, int32_t w, int32_t h,
                  const std::vector<float>& sides) {
  CocoDatasetBuilder b("hand-made");
  b.SetCategories({{1, "thing", ""}});
  int64_t id = 0;
  for (int i = 0; i < n; ++i) {
    b.AddImage({i + 1, w, h, "i.jpg"});
    float x = 1;
    for (float s : sides) {
      const float side = s * (1 + 0.01f * i);
      if (x + side >= w) x = 1;
      b.AddAnnotation({{x, (h - side) / 2, side, side}, 0, false, ++id});
      x += side + 3;
    }
  }
  return *std::move(b).Build();
}

// Every box of `ds` is valid at some scale of `config` where its side,
// scaled, lies in [anchor_min, anchor_max]: checked from the built sampler
// options, not from the suggestion's own arithmetic.
void ExpectEveryBoxAnchored(const CocoDataset& ds,
                            const ChipSamplerConfig& config, double min_side,
                            const ScaleSuggestionOptions& o) {
  ASSERT_OK_AND_ASSIGN(ChipSamplerOptions built,
                       BuildChipSamplerOptions(config, "suggested"));
  int64_t checked = 0;
  for (size_t i = 0; i < ds.num_images(); ++i) {
    for (const BoxXYWH& b : ds.boxes_of(i)) {
      const double side = std::sqrt(double{b.w} * b.h);
      if (side < min_side) continue;
      bool ok = false;
      for (const ScaleSpec& s : built.scales) {
        ASSERT_EQ(s.kind, ScaleSpec::Kind::kFactor);
        const double scaled = side * s.factor;
        ok |= side >= s.valid_min && side < s.valid_max &&
              scaled >= o.anchor_min * (1 - 1e-6) &&
              scaled <= o.anchor_max * (1 + 1e-6);
      }
      EXPECT_TRUE(ok) << "side " << side;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(ScaleSuggestionTest, EveryBoxValidAndAnchoredAtSomeScale) {
  const CocoDataset ds = Boxes(6, 640, 480, {14, 30, 60, 120, 250, 400});
  ScaleSuggestionOptions o = Options();
  o.small_quantile = 0;
  ASSERT_OK_AND_ASSIGN(ScaleSuggestion s, SuggestScales(ds, o));
  EXPECT_EQ(s.box_sides.size(), 36u);
  EXPECT_FLOAT_EQ(s.small_side, 14);
  EXPECT_DOUBLE_EQ(s.best.anchored_fraction, 1.0);
  // Finest first; 14 px boxes need a factor >= 32 / 14.
  ASSERT_GE(s.best.factors.size(), 2u);
  EXPECT_GE(s.best.factors[0] * 14, 32);
  for (size_t k = 1; k < s.best.factors.size(); ++k) {
    EXPECT_LT(s.best.factors[k], s.best.factors[k - 1]);
    EXPECT_GT(s.best.valid_max[k - 1], s.best.valid_min[k]);  // no gap
  }
  EXPECT_EQ(s.best.valid_min[0], 0);
  EXPECT_TRUE(std::isinf(s.best.valid_max.back()));
  ExpectEveryBoxAnchored(ds, s.best.config, 0, o);
  // The best is the cheapest feasible candidate, measured by the sampler.
  for (const ScaleChoice& c : s.feasible) {
    EXPECT_GE(c.pixels_per_image, s.best.pixels_per_image);
  }
  EXPECT_GT(s.best.pixels_per_image, 0);
  EXPECT_GT(s.candidates, static_cast<int64_t>(s.feasible.size()));
  // The pasted text is the same scales.
  const std::string text = ScalesConfigText(s.best);
  EXPECT_THAT(text, HasSubstr("size { factor: "));
  EXPECT_THAT(text, HasSubstr("max: inf"));
}

TEST(ScaleSuggestionTest, TinyObjectsInLargeImagesChooseFinerScales) {
  ScaleSuggestionOptions o = Options();
  o.small_quantile = 0;
  ASSERT_OK_AND_ASSIGN(
      ScaleSuggestion usual,
      SuggestScales(Boxes(4, 640, 480, {40, 80, 160, 300}), o));
  const CocoDataset tiny = Boxes(4, 2400, 1600, {12, 16, 24, 32});
  ASSERT_OK_AND_ASSIGN(ScaleSuggestion small, SuggestScales(tiny, o));
  EXPECT_GE(small.best.factors[0], 32.0 / 12);
  EXPECT_LE(usual.best.factors[0], 1.0);
  EXPECT_GT(small.best.factors[0], 3 * usual.best.factors[0]);
  ExpectEveryBoxAnchored(tiny, small.best.config, 0, o);
  // The paper's COCO scales (1400 short side on these 1600-px images: x0.875
  // and less) leave the tiny boxes below the anchors: what the suggestion
  // is for.
  ASSERT_OK_AND_ASSIGN(ScaleChoice paper,
                       MeasureScales(tiny, o.base, o, small.small_side));
  EXPECT_LT(paper.anchored_fraction, 0.5);
  EXPECT_TRUE(paper.factors.empty());
  ASSERT_OK_AND_ASSIGN(ScaleChoice again, MeasureScales(tiny, small.best.config,
                                                        o, small.small_side));
  EXPECT_DOUBLE_EQ(again.anchored_fraction, 1.0);
  EXPECT_DOUBLE_EQ(again.pixels_per_image, small.best.pixels_per_image);
}

TEST(ScaleSuggestionTest, BoxesTooSmallForAnyFactorAreNotRequired) {
  // 5 px boxes need x6.4 to reach the anchors; the largest factor is x2.83
  // (2^1.5 <= 3), so they stay valid at the finest scale, unanchored.
  ScaleSuggestionOptions o = Options();
  o.small_quantile = 0;
  ASSERT_OK_AND_ASSIGN(ScaleSuggestion s,
                       SuggestScales(Boxes(3, 640, 480, {5, 40, 100}), o));
  EXPECT_NEAR(s.small_side, 32 / std::exp2(1.5), 1e-9);
  EXPECT_NEAR(s.best.anchored_fraction, 2.0 / 3, 1e-9);
  EXPECT_EQ(s.best.anchored_fraction_above_small, 1);
  EXPECT_EQ(s.best.valid_min[0], 0);  // the 5 px boxes are still valid
}

TEST(ScaleSuggestionTest, ImpossibleRangesAndBadOptionsAreExplained) {
  ScaleSuggestionOptions o = Options();
  o.small_quantile = 0;
  o.max_scales = 1;
  EXPECT_THAT(SuggestScales(Boxes(2, 4000, 4000, {10, 2000}), o),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no 1 or fewer scales")));
  o.max_scales = 3;
  o.overlap = 0.5;
  EXPECT_THAT(SuggestScales(Boxes(1, 64, 64, {10}), o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("overlap must be >= 1")));
  CocoDatasetBuilder b("empty.json");
  b.AddImage({1, 64, 64, "e.jpg"});
  EXPECT_THAT(SuggestScales(*std::move(b).Build(), Options()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("empty.json: no boxes")));
}

TEST(ScaleSuggestionTest, CocoMini) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/instances.json");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, ReadCocoInstances(path, {}));
  const ScaleSuggestionOptions o = Options();
  ASSERT_OK_AND_ASSIGN(ScaleSuggestion s, SuggestScales(ds, o));
  ExpectEveryBoxAnchored(ds, s.best.config, s.small_side, o);
  // The boxes too small for the anchors even at the largest factor (x2.83:
  // below 11.3 px) are all that may be left unanchored.
  int64_t at_least_small = 0;
  for (double side : s.box_sides) at_least_small += side >= s.small_side;
  EXPECT_GE(s.best.anchored_fraction,
            static_cast<double>(at_least_small) / s.box_sides.size() - 1e-12);
  EXPECT_GT(at_least_small, 0.8 * s.box_sides.size());
  RecordProperty("factors", ::testing::PrintToString(s.best.factors));
  RecordProperty("ratio_vs_single_scale",
                 std::to_string(s.best.ratio_vs_single_scale));
}

}  // namespace
}  // namespace sniper::data
