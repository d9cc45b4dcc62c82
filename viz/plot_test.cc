#include "viz/plot.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "viz/testing_util.h"

namespace sniper::viz {
namespace {

using ::sniper::viz::testing::CountColor;
using ::sniper::viz::testing::CountNear;
using ::sniper::viz::testing::CountNearInColumns;
using ::testing::DoubleNear;
using ::testing::ElementsAre;

TEST(TicksTest, LinearTicksAreOneTwoFiveSteps) {
  EXPECT_THAT(LinearTicks(0, 2065, 5), ElementsAre(0, 500, 1000, 1500, 2000));
  EXPECT_THAT(LinearTicks(0.13, 0.97, 5),
              ElementsAre(DoubleNear(0.2, 1e-12), DoubleNear(0.4, 1e-12),
                          DoubleNear(0.6, 1e-12), DoubleNear(0.8, 1e-12)));
  EXPECT_THAT(LinearTicks(-1, 1, 4), ElementsAre(-1, -0.5, 0, 0.5, 1));
  EXPECT_THAT(LinearTicks(3, 17, 5), ElementsAre(5, 10, 15));
  EXPECT_TRUE(LinearTicks(1, 1, 5).empty());
  EXPECT_TRUE(LinearTicks(0, NAN, 5).empty());
}

TEST(TicksTest, LogTicksAreDecadesOrOneTwoFive) {
  EXPECT_THAT(LogTicks(0.03, 40), ElementsAre(DoubleNear(0.1, 1e-15), 1, 10));
  EXPECT_THAT(LogTicks(0.15, 3), ElementsAre(DoubleNear(0.2, 1e-15),
                                             DoubleNear(0.5, 1e-15), 1, 2));
  // Within one decade and one 1-2-5 value: a linear 1-2-5 split.
  EXPECT_THAT(LogTicks(0.31, 0.44),
              ElementsAre(DoubleNear(0.35, 1e-12), DoubleNear(0.4, 1e-12)));
  EXPECT_TRUE(LogTicks(0, 1).empty());
}

TEST(PlotTest, SeriesAreDrawnInTheirColoursWithALegendBeside) {
  Series a{"A", {200, 0, 0}, {{0, 1.0}, {10, 0.5}, {20, 0.1}}};
  Series b{"B", {0, 150, 0}, {{0, 2.0}, {20, NAN}, {30, 0.2}}};
  data::RgbImage im = PlotSeries("LOSS", "STEP", {a, b}, 400, 300, true);
  EXPECT_EQ(im.width, 400);
  EXPECT_EQ(im.height, 300);
  EXPECT_GT(CountNear(im, a.color, 40), 100);
  EXPECT_GT(CountNear(im, b.color, 40), 100);
  // The legend's samples lie right of the axes' frame, whose right edge is
  // the rightmost grey column left of them.
  int frame_right = 0;
  for (int x = 0; x < im.width; ++x) {
    if (im.at(x, 150)[0] == 150 && im.at(x, 150)[1] == 150) frame_right = x;
  }
  ASSERT_GT(frame_right, 200);
  EXPECT_GT(CountNearInColumns(im, a.color, 10, frame_right + 1, im.width), 40);
  EXPECT_GT(CountNearInColumns(im, b.color, 10, frame_right + 1, im.width), 40);
  data::RgbImage empty = PlotSeries("LOSS", "STEP", {}, 200, 100);
  EXPECT_EQ(empty.width, 200);
  data::RgbImage both = StackVertically({im, empty});
  EXPECT_EQ(both.height, 400);
  EXPECT_EQ(both.width, 400);
}

// A long noisy series: the smoothed line in full colour, the raw values
// faint (the colour blended with white) behind it.
TEST(PlotTest, LongSeriesSmoothedWithTheRawFaintBehind) {
  Series s{"loss", {0, 0, 220}, {}};
  for (int i = 0; i < 400; ++i) {
    s.points.push_back({i, 1.0 + 0.5 * ((i * 7919) % 13) / 13.0});
  }
  const data::RgbImage im = PlotSeries("noisy", "step", {s}, 600, 300);
  EXPECT_GT(CountNear(im, {0, 0, 220}, 40), 300);  // the smoothed line
  // Faint: about 28% of the colour over white.
  EXPECT_GT(CountNear(im, {184, 184, 245}, 30), 300);
}

TEST(PlotTest, StackHorizontallyPadsAndLeavesGaps) {
  const data::RgbImage a = Blank(10, 4, {255, 0, 0});
  const data::RgbImage b = Blank(5, 6, {0, 255, 0});
  const data::RgbImage both = StackHorizontally({a, b}, 3, {0, 0, 0});
  EXPECT_EQ(both.width, 18);
  EXPECT_EQ(both.height, 6);
  EXPECT_EQ(CountColor(both, {255, 0, 0}), 40);
  EXPECT_EQ(CountColor(both, {0, 255, 0}), 30);
  EXPECT_EQ(CountColor(both, {0, 0, 0}), 18 * 6 - 70);
}

}  // namespace
}  // namespace sniper::viz
