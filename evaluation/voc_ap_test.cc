#include "evaluation/voc_ap.h"

#include <vector>

#include "evaluation/testing/boxes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::evaluation {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

using ::sniper::evaluation::testing::Det;
using ::sniper::evaluation::testing::Gt;

EvalGroundTruth HandMade() {
  EvalGroundTruth gt;
  gt.image_ids = {1, 2};
  gt.category_ids = {7, 3};
  gt.boxes = {Gt(1, 3, 0, 0, 10, 10), Gt(1, 3, 20, 20, 10, 10, true),
              Gt(2, 3, 0, 0, 10, 10), Gt(2, 7, 0, 0, 5, 5, true)};
  return gt;
}

TEST(VocApTest, HandCountedCurve) {
  // In score order: a hit (TP), the same box again (duplicate: FP), a hit
  // on the ignore region (neither), a miss (FP), a hit in image 2 (TP).
  // Recall .5 .5 .5 1, precision 1 .5 .33 .5: envelope 1 .5 .5 .5, AP =
  // .5 * 1 + .5 * .5 = .75; VOC2007: 6 points at 1, 5 at .5 = 8.5 / 11.
  const std::vector<Detection> dets = {
      Det(2, 3, 0, 0, 10, 10, 0.5), Det(1, 3, 0, 0, 10, 10, 0.9),
      Det(1, 3, 0.5, 0, 10, 10, 0.8), Det(1, 3, 20, 20, 10, 10, 0.7),
      Det(2, 3, 50, 50, 5, 5, 0.6)};
  ASSERT_OK_AND_ASSIGN(VocApResult r, EvaluateVocAp(HandMade(), dets));
  ASSERT_EQ(r.per_category_ap.size(), 2u);
  EXPECT_EQ(r.per_category_ap[0].first, 3);
  EXPECT_NEAR(r.per_category_ap[0].second, 0.75, 1e-12);
  // Category 7 has only an ignore region: no AP, not in the mean.
  EXPECT_EQ(r.per_category_ap[1].first, 7);
  EXPECT_EQ(r.per_category_ap[1].second, -1);
  EXPECT_NEAR(r.mean_ap, 0.75, 1e-12);
  ASSERT_OK_AND_ASSIGN(
      VocApResult r07,
      EvaluateVocAp(HandMade(), dets, 0.5, VocApMetric::kElevenPoints));
  EXPECT_NEAR(r07.mean_ap, 8.5 / 11, 1e-12);
  // A stricter threshold: the shifted duplicate and the hits still count
  // the same (IoU 1), so only the threshold's edge matters. At IoU 0.9
  // the 0.5 px shift (IoU 0.905) still matches: the curve is unchanged.
  ASSERT_OK_AND_ASSIGN(VocApResult strict,
                       EvaluateVocAp(HandMade(), dets, 0.9));
  EXPECT_NEAR(strict.mean_ap, 0.75, 1e-12);
}

TEST(VocApTest, PerfectAndEmpty) {
  const std::vector<Detection> perfect = {Det(1, 3, 0, 0, 10, 10, 0.9),
                                          Det(2, 3, 0, 0, 10, 10, 0.8)};
  ASSERT_OK_AND_ASSIGN(VocApResult r, EvaluateVocAp(HandMade(), perfect));
  EXPECT_DOUBLE_EQ(r.mean_ap, 1.0);
  ASSERT_OK_AND_ASSIGN(VocApResult none, EvaluateVocAp(HandMade(), {}));
  EXPECT_DOUBLE_EQ(none.mean_ap, 0.0);
  // A box overlapping at IoU just under 0.5 is a false positive: 10x10
  // against 10x10 shifted by 3.4 px: IoU 66 / 134 = 0.49.
  const std::vector<Detection> shifted = {Det(1, 3, 3.4, 0, 10, 10, 0.9)};
  ASSERT_OK_AND_ASSIGN(VocApResult s, EvaluateVocAp(HandMade(), shifted));
  EXPECT_DOUBLE_EQ(s.mean_ap, 0.0);
}

TEST(VocApTest, BadDetectionsAreNamed) {
  EXPECT_THAT(EvaluateVocAp(HandMade(), {Det(9, 3, 0, 0, 1, 1, 1)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("detection 0: image 9 or category 3")));
  EXPECT_THAT(EvaluateVocAp(HandMade(), {Det(1, 3, 0, 0, 1, 1, 1),
                                         Det(1, 3, 0, 0, 1, 1, std::nan(""))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("detection 1: non-finite")));
}

}  // namespace
}  // namespace sniper::evaluation
