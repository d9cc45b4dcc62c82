#include "viz/scatter.h"

#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "viz/testing_util.h"

namespace sniper::viz {
namespace {

using ::sniper::viz::testing::CountNear;
using ::sniper::viz::testing::CountNearInColumns;

// The rightmost column of the axes' grey outline on row y.
int FrameRight(const data::RgbImage& im, int y) {
  int right = 0;
  for (int x = 0; x < im.width; ++x) {
    const uint8_t* p =
        im.pixels.data() + (static_cast<size_t>(y) * im.width + x) * 3;
    if (p[0] == 150 && p[1] == 150) right = x;
  }
  return right;
}

// Columns holding a pixel of colour `c` left of column x_end: where a
// series' markers landed.
std::set<int> ColumnsWith(const data::RgbImage& im, Color c, int x_end) {
  std::set<int> cols;
  for (int y = 0; y < im.height; ++y) {
    for (int x = 0; x < x_end; ++x) {
      const uint8_t* p =
          im.pixels.data() + (static_cast<size_t>(y) * im.width + x) * 3;
      if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) cols.insert(x);
    }
  }
  return cols;
}

TEST(ScatterTest, EachPointIsAMarkerInItsSeriesColourWithALegendBeside) {
  const ScatterSeries a{
      "A", {200, 0, 0}, Marker::kCircle, {{1e5, 0.5}, {1e6, 0.6}}};
  const ScatterSeries b{"B",
                        {0, 0, 200},
                        Marker::kTriangle,
                        {{3e5, 0.55}, {-1, 0.4}, {2e5, NAN}}};
  const data::RgbImage im =
      PlotScatter("AP", "pixels", "AP", {a, b}, 500, 320, /*log_x=*/true);
  ASSERT_EQ(im.width, 500);
  const int right = FrameRight(im, 160);
  ASSERT_GT(right, 250);
  // Markers inside the axes, one blob per finite point: A's two points far
  // apart (a decade on the log axis), B's one (x <= 0 and NaN dropped).
  const std::set<int> a_cols = ColumnsWith(im, a.color, right);
  const std::set<int> b_cols = ColumnsWith(im, b.color, right);
  ASSERT_FALSE(a_cols.empty());
  ASSERT_FALSE(b_cols.empty());
  EXPECT_GT(*a_cols.rbegin() - *a_cols.begin(), 150);
  EXPECT_LT(*b_cols.rbegin() - *b_cols.begin(), 14);
  // On the log axis 3e5 lies at log10(3) = 48% of the way from 1e5 to 1e6.
  const double a_mid = (*a_cols.begin() + *a_cols.rbegin()) / 2.0;
  const double b_mid = (*b_cols.begin() + *b_cols.rbegin()) / 2.0;
  const double span = *a_cols.rbegin() - *a_cols.begin() - 10;
  EXPECT_NEAR((b_mid - (*a_cols.begin() + 5)) / span, std::log10(3.0), 0.05);
  EXPECT_GT(a_mid, 0);
  // The legend: each marker again right of the axes.
  EXPECT_GT(CountNearInColumns(im, a.color, 10, right + 1, im.width), 40);
  EXPECT_GT(CountNearInColumns(im, b.color, 10, right + 1, im.width), 25);
}

TEST(ScatterTest, MarkersHaveDistinctShapes) {
  std::set<int> counts;
  for (int i = 0; i < kNumMarkers; ++i) {
    Canvas c(40, 40, {255, 255, 255});
    DrawMarker(c, MarkerAt(i), 20, 20, 16, {0, 0, 0});
    const int n = CountNear(c.Image(), {0, 0, 0}, 100);
    EXPECT_GT(n, 20) << i;
    counts.insert(n);
  }
  // Triangles up and down cover the same area; the rest differ.
  EXPECT_GE(counts.size(), static_cast<size_t>(kNumMarkers - 1));
  EXPECT_EQ(MarkerAt(kNumMarkers), MarkerAt(0));
}

TEST(ScatterTest, NoFinitePointSaysNoData) {
  const data::RgbImage im =
      PlotScatter("AP", "x", "y",
                  {{"A", {200, 0, 0}, Marker::kCircle, {{NAN, 1}}}}, 300, 200);
  EXPECT_EQ(CountNear(im, {200, 0, 0}, 10), 0);
}

}  // namespace
}  // namespace sniper::viz
