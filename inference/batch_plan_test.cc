#include "inference/batch_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace sniper::inference {
namespace {

using ::testing::ElementsAre;

BatchLimits Limits(size_t views, double padding, int64_t canvas = 0) {
  BatchLimits l;
  l.max_views = views;
  l.max_padding = padding;
  l.max_canvas_pixels = canvas;
  return l;
}

TEST(PlanBatchesTest, EqualShapesBatchUpToTheLimit) {
  const std::vector<ViewShape> shapes(5, {512, 768});
  EXPECT_THAT(
      PlanBatches(shapes, Limits(2, 0.0)),
      ElementsAre(ElementsAre(0, 1), ElementsAre(2, 3), ElementsAre(4)));
  EXPECT_THAT(PlanBatches(shapes, Limits(1, 10.0)),
              ElementsAre(ElementsAre(0), ElementsAre(1), ElementsAre(2),
                          ElementsAre(3), ElementsAre(4)));
}

TEST(PlanBatchesTest, LandscapeAndPortraitDoNotPadEachOther) {
  // Four consecutive images as they come: padded together, 768 x 768
  // canvases hold 1.5x their pixels; sorted, each orientation batches
  // with its own.
  const std::vector<ViewShape> shapes = {
      {512, 768}, {768, 512}, {512, 768}, {768, 512}};
  EXPECT_EQ(CanvasPixels(shapes, {0, 1, 2, 3}), 4 * 768 * 768);
  const auto batches = PlanBatches(shapes, Limits(4, 0.25));
  EXPECT_THAT(batches, ElementsAre(ElementsAre(0, 2), ElementsAre(1, 3)));
  EXPECT_EQ(CanvasPixels(shapes, batches[0]) + CanvasPixels(shapes, batches[1]),
            4 * 512 * 768);
}

TEST(PlanBatchesTest, ABatchClosesBeforeItsPaddingExceedsTheBound) {
  // Heights 480, 512, 640 at width 640: 480 + 512 pad to 2 x 512 (3.3%
  // more); adding 640 would pad to 3 x 640 = 1.18x.
  const std::vector<ViewShape> shapes = {{640, 640}, {480, 640}, {512, 640}};
  EXPECT_THAT(PlanBatches(shapes, Limits(4, 0.10)),
              ElementsAre(ElementsAre(1, 2), ElementsAre(0)));
  EXPECT_THAT(PlanBatches(shapes, Limits(4, 0.20)),
              ElementsAre(ElementsAre(1, 2, 0)));
}

TEST(PlanBatchesTest, ABatchClosesBeforeItsCanvasExceedsThePixelLimit) {
  // Six 256 x 192 views (49,152 pixels) and two 768 x 576 ones (442,368)
  // under a 512 x 512 limit: five small ones fit (245,760), a sixth does
  // not; a large view runs alone although it exceeds the limit by itself.
  std::vector<ViewShape> shapes(6, {256, 192});
  shapes.push_back({768, 576});
  shapes.push_back({768, 576});
  EXPECT_THAT(PlanBatches(shapes, Limits(8, 0.0, 512 * 512)),
              ElementsAre(ElementsAre(0, 1, 2, 3, 4), ElementsAre(5),
                          ElementsAre(6), ElementsAre(7)));
  // No limit: the views' count and shapes decide.
  EXPECT_THAT(PlanBatches(shapes, Limits(8, 0.0)),
              ElementsAre(ElementsAre(0, 1, 2, 3, 4, 5), ElementsAre(6, 7)));
}

TEST(PlanBatchesTest, EveryViewOnceAndEveryBatchWithinTheBound) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> side(1, 48);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<ViewShape> shapes(1 + trial % 23);
    for (ViewShape& s : shapes) s = {32 * side(rng), 32 * side(rng)};
    const double bound = 0.05 * (trial % 7);
    const size_t max_batch = 1 + trial % 5;
    const int64_t max_canvas = int64_t{256} * 256 * (trial % 4);  // 0: none
    std::vector<int> seen(shapes.size(), 0);
    for (const std::vector<size_t>& batch :
         PlanBatches(shapes, Limits(max_batch, bound, max_canvas))) {
      ASSERT_FALSE(batch.empty());
      ASSERT_LE(batch.size(), max_batch);
      int64_t own = 0;
      for (size_t i : batch) {
        ++seen[i];
        own += shapes[i].height * shapes[i].width;
      }
      if (batch.size() > 1) {
        EXPECT_LE(static_cast<double>(CanvasPixels(shapes, batch)),
                  (1 + bound) * static_cast<double>(own) + 1e-6);
        if (max_canvas > 0) {
          EXPECT_LE(CanvasPixels(shapes, batch), max_canvas);
        }
      }
    }
    for (int count : seen) ASSERT_EQ(count, 1);
  }
}

}  // namespace
}  // namespace sniper::inference
