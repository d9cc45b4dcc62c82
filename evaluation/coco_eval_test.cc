#include "evaluation/coco_eval.h"

#include <sys/resource.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "evaluation/testing/boxes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sniper::evaluation {
namespace {

using ::testing::HasSubstr;

enum Stat { kAP, kAP50, kAP75, kAPs, kAPm, kAPl, kAR1, kAR10, kAR100 };

using ::sniper::evaluation::testing::Det;
using ::sniper::evaluation::testing::Gt;

CocoEvalResult Evaluate(const EvalGroundTruth& gt,
                        const std::vector<Detection>& dets) {
  absl::StatusOr<CocoEvalResult> r = EvaluateBoxes(gt, dets);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CocoEvalResult{};
}

TEST(CocoEvalTest, PerfectDetectorScoresOne) {
  EvalGroundTruth gt;
  gt.image_ids = {1, 2};
  gt.category_ids = {7, 9};
  gt.boxes = {Gt(1, 7, 10, 10, 20, 20),   // small (area 400)
              Gt(1, 9, 50, 50, 60, 60),   // medium
              Gt(2, 7, 0, 0, 200, 150)};  // large
  std::vector<Detection> dets;
  for (const GtBox& g : gt.boxes) {
    dets.push_back(Det(g.image_id, g.category_id, g.x, g.y, g.w, g.h, 0.9));
  }
  const CocoEvalResult r = Evaluate(gt, dets);
  for (int i = 0; i < 12; ++i) EXPECT_DOUBLE_EQ(r.stats[i], 1.0) << i;
  EXPECT_EQ(r.num_images, 2);
  EXPECT_EQ(r.num_detections, 3);
}

TEST(CocoEvalTest, NoDetectionsScoreZero) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 50, 50)};
  const CocoEvalResult r = Evaluate(gt, {});
  EXPECT_DOUBLE_EQ(r.stats[kAP], 0.0);
  EXPECT_DOUBLE_EQ(r.stats[kAR100], 0.0);
  EXPECT_DOUBLE_EQ(r.stats[kAPs], -1.0);  // no small ground truth
  EXPECT_DOUBLE_EQ(r.stats[kAPm], 0.0);
}

TEST(CocoEvalTest, ShiftedBoxCountsOnlyUpToItsIoU) {
  // IoU = 62 * 100 / (100 * 100) = 0.62: a match at 0.50, 0.55, 0.60 only.
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100)};
  const CocoEvalResult r = Evaluate(gt, {Det(1, 1, 0, 0, 62, 100, 0.8)});
  EXPECT_NEAR(r.stats[kAP], 0.3, 1e-12);
  EXPECT_DOUBLE_EQ(r.stats[kAP50], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[kAP75], 0.0);
  EXPECT_NEAR(r.stats[kAR100], 0.3, 1e-12);
  EXPECT_NEAR(r.stats[kAPl], 0.3, 1e-12);
}

TEST(CocoEvalTest, FalsePositiveAboveTruePositiveHalvesPrecision) {
  // Ranked: FP (0.9) then TP (0.8). Precision at recall 1 is 1/2, made
  // monotone: every recall point gets 0.5.
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100)};
  const CocoEvalResult r = Evaluate(
      gt, {Det(1, 1, 300, 300, 50, 50, 0.9), Det(1, 1, 0, 0, 100, 100, 0.8)});
  EXPECT_DOUBLE_EQ(r.stats[kAP50], 0.5);
  // maxDets 1 keeps only the false positive.
  EXPECT_DOUBLE_EQ(r.stats[kAR1], 0.0);
  EXPECT_DOUBLE_EQ(r.stats[kAR10], 1.0);
}

TEST(CocoEvalTest, TwoGroundTruthsHalfRecalled) {
  // Two objects, one found (score 0.9) and one missed: precision 1 up to
  // recall 0.5 then nothing: 51 of 101 recall points.
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100), Gt(1, 1, 200, 200, 100, 100)};
  const CocoEvalResult r = Evaluate(gt, {Det(1, 1, 0, 0, 100, 100, 0.9)});
  EXPECT_NEAR(r.stats[kAP50], 51.0 / 101.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.stats[kAR100], 0.5);
}

TEST(CocoEvalTest, DetectionOnCrowdIsIgnoredNotFalsePositive) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100),
              Gt(1, 1, 200, 0, 300, 300, /*crowd=*/true)};
  // Two detections inside the crowd region (IoA 1, IoU small) above the
  // true positive: both match the crowd and are ignored.
  const std::vector<Detection> dets = {Det(1, 1, 220, 20, 40, 40, 0.95),
                                       Det(1, 1, 300, 100, 40, 40, 0.93),
                                       Det(1, 1, 0, 0, 100, 100, 0.9)};
  const CocoEvalResult r = Evaluate(gt, dets);
  EXPECT_DOUBLE_EQ(r.stats[kAP], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[kAR1], 0.0);  // maxDets 1: only the crowd match
  EXPECT_DOUBLE_EQ(r.stats[kAR10], 1.0);

  // The same detections without the crowd flag: two false positives above
  // the true positive.
  gt.boxes[1].iscrowd = false;
  const CocoEvalResult plain = Evaluate(gt, dets);
  EXPECT_LT(plain.stats[kAP50], 0.5);
}

TEST(CocoEvalTest, EmptyCategoriesAreExcluded) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1, 2, 3};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100), Gt(1, 2, 150, 150, 40, 60)};
  // Category 3 has no ground truth: its detections change nothing.
  const CocoEvalResult r = Evaluate(
      gt, {Det(1, 1, 0, 0, 100, 100, 0.9), Det(1, 2, 150, 150, 40, 60, 0.8),
           Det(1, 3, 10, 10, 30, 30, 0.99)});
  EXPECT_DOUBLE_EQ(r.stats[kAP], 1.0);
  ASSERT_EQ(r.per_category_ap.size(), 3u);
  EXPECT_EQ(r.per_category_ap[2].first, 3);
  EXPECT_DOUBLE_EQ(r.per_category_ap[2].second, -1.0);
  EXPECT_DOUBLE_EQ(r.per_category_ap[0].second, 1.0);
}

TEST(CocoEvalTest, WrongCategoryIsNoMatch) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1, 2};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100)};
  const CocoEvalResult r = Evaluate(gt, {Det(1, 2, 0, 0, 100, 100, 0.9)});
  EXPECT_DOUBLE_EQ(r.stats[kAP], 0.0);
}

TEST(CocoEvalTest, AreaRangesUseGroundTruthArea) {
  // A small object found, a large object missed; an unmatched large false
  // positive does not hurt APs (outside its area range it is ignored).
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 20, 20), Gt(1, 1, 100, 100, 200, 200)};
  const CocoEvalResult r = Evaluate(
      gt, {Det(1, 1, 400, 400, 150, 150, 0.99), Det(1, 1, 0, 0, 20, 20, 0.9)});
  EXPECT_DOUBLE_EQ(r.stats[kAPs], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[kAPl], 0.0);
  EXPECT_DOUBLE_EQ(r.stats[kAPm], -1.0);
}

TEST(CocoEvalTest, EachGroundTruthMatchesOnce) {
  // Two identical detections on one object: the second is a false positive.
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 100, 100), Gt(1, 1, 300, 300, 100, 100)};
  const CocoEvalResult r = Evaluate(
      gt, {Det(1, 1, 0, 0, 100, 100, 0.9), Det(1, 1, 0, 0, 100, 100, 0.8),
           Det(1, 1, 300, 300, 100, 100, 0.7)});
  // Precision 1 up to recall 0.5, then 2/3 at recall 1.
  EXPECT_NEAR(r.stats[kAP50], (51 * 1.0 + 50 * (2.0 / 3.0)) / 101.0, 1e-12);
}

TEST(CocoEvalTest, InvalidInputsNameTheDetection) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {1};
  gt.boxes = {Gt(1, 1, 0, 0, 10, 10)};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    Detection det;
    const char* message;
  } cases[] = {{Det(5, 1, 0, 0, 1, 1, 0.5), "image_id"},
               {Det(1, 4, 0, 0, 1, 1, 0.5), "category_id"},
               {Det(1, 1, 0, 0, 1, 1, nan), "score"},
               {Det(1, 1, 0, 0, -1, 1, 0.5), "negative"},
               {Det(1, 1, nan, 0, 1, 1, 0.5), "bbox"}};
  for (const Case& c : cases) {
    absl::StatusOr<CocoEvalResult> r = EvaluateBoxes(
        gt, std::vector<Detection>{Det(1, 1, 0, 0, 1, 1, 0.1), c.det});
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("detection 1"))
        << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message))
        << r.status();
  }
}

#if !defined(__SANITIZE_ADDRESS__)
// 0 when EvaluateBoxes succeeds with 1 GiB of address space.
int EvaluateUnderOneGib(const EvalGroundTruth& gt,
                        const std::vector<Detection>& dets) {
  const rlimit limit = {size_t{1} << 30, size_t{1} << 30};
  setrlimit(RLIMIT_AS, &limit);
  return EvaluateBoxes(gt, dets).ok() ? 0 : 3;
}
#endif

TEST(CocoEvalTest, ManyImagesTimesManyCategoriesCostsOnlyTheBoxes) {
  // 60,000 images x 60,000 categories (the old dense table: 14 GB). In a
  // child with 1 GiB of address space, so an allocation of that order
  // fails the test instead of passing on a big machine.
  EvalGroundTruth gt;
  for (int64_t i = 1; i <= 60000; ++i) {
    gt.image_ids.push_back(i);
    gt.category_ids.push_back(i);
  }
  gt.boxes = {Gt(60000, 60000, 10, 10, 40, 40), Gt(7, 3, 0, 0, 20, 20)};
  const std::vector<Detection> dets = {Det(60000, 60000, 10, 10, 40, 40, 0.9),
                                       Det(8, 3, 0, 0, 20, 20, 0.8)};
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EXIT(std::exit(EvaluateUnderOneGib(gt, dets)),
              ::testing::ExitedWithCode(0), "");
#endif
  const CocoEvalResult r = Evaluate(gt, dets);
  // Category 60000: perfect; category 3: its detection is on another
  // image, so AP 0. The mean of the two.
  EXPECT_NEAR(r.stats[0], 0.5, 1e-12);
  ASSERT_EQ(r.per_category_ap.size(), 60000u);
  EXPECT_EQ(r.per_category_ap[0].second, -1);  // no ground truth
  EXPECT_NEAR(r.per_category_ap[2].second, 0.0, 1e-12);
  EXPECT_NEAR(r.per_category_ap[59999].second, 1.0, 1e-12);
  // No boxes at all: every summary is -1 (the reference's "no data").
  gt.boxes.clear();
  const CocoEvalResult empty = Evaluate(gt, {});
  for (double v : empty.stats) EXPECT_EQ(v, -1);
}

TEST(CocoEvalTest, KeepImagesKeepsSizesAlignedWithIds) {
  EvalGroundTruth gt;
  gt.image_ids = {30, 10, 20};
  gt.image_sizes = {{3, 4}, {1, 2}, {5, 6}};
  gt.category_ids = {1};
  for (int64_t id : {10, 20, 30, 20}) {
    GtBox b;
    b.image_id = id;
    b.category_id = 1;
    gt.boxes.push_back(b);
  }
  KeepImages(std::vector<int64_t>{20, 30, 99}, &gt);
  EXPECT_EQ(gt.image_ids, (std::vector<int64_t>{30, 20}));
  ASSERT_EQ(gt.image_sizes.size(), 2u);
  EXPECT_EQ(gt.image_sizes[0], (std::array<int32_t, 2>{3, 4}));
  EXPECT_EQ(gt.image_sizes[1], (std::array<int32_t, 2>{5, 6}));
  ASSERT_EQ(gt.boxes.size(), 3u);
  EXPECT_EQ(gt.boxes[0].image_id, 20);
  EXPECT_EQ(gt.boxes[1].image_id, 30);
  // Without sizes (boxes only) the ids alone are filtered.
  EvalGroundTruth plain;
  plain.image_ids = {1, 2};
  KeepImages(std::vector<int64_t>{2}, &plain);
  EXPECT_EQ(plain.image_ids, (std::vector<int64_t>{2}));
  EXPECT_TRUE(plain.image_sizes.empty());
}

TEST(CocoEvalTest, FormatMatchesReferenceLayout) {
  std::array<double, 12> s{};
  s[0] = 0.3721;
  s[11] = -1;
  const std::string text = FormatCocoStats(s);
  EXPECT_THAT(text,
              HasSubstr(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   "
                        "all | maxDets=100 ] = 0.372\n"));
  EXPECT_THAT(text,
              HasSubstr(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= "
                        "large | maxDets=100 ] = -1.000\n"));
}

TEST(FormatCocoSummaryTest, TheFirstSixNamedAndNothingForOtherCounts) {
  std::array<double, 12> s{};
  for (int k = 0; k < 12; ++k) s[k] = 0.1 * k + 0.0004;
  EXPECT_EQ(FormatCocoSummary(s),
            "AP 0.000  AP50 0.100  AP75 0.200  APs 0.300  APm 0.400  "
            "APl 0.500");
  EXPECT_EQ(FormatCocoSummary(s, "mask ").substr(0, 13), "mask AP 0.000");
  EXPECT_EQ(FormatCocoSummary(std::vector<double>(6, 0.5)), "");
  EXPECT_EQ(FormatCocoSummary({}), "");
  EXPECT_STREQ(kCocoStatNames[8], "AR100");
}

}  // namespace
}  // namespace sniper::evaluation
