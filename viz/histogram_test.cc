#include "viz/histogram.h"

#include <cmath>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "viz/testing_util.h"

namespace sniper::viz {
namespace {

using ::sniper::viz::testing::CountNearInColumns;

// Columns holding a pixel of exactly colour `c`.
std::set<int> ColumnsWith(const data::RgbImage& im, Color c) {
  std::set<int> cols;
  for (int y = 0; y < im.height; ++y) {
    for (int x = 0; x < im.width; ++x) {
      const uint8_t* p =
          im.pixels.data() + (static_cast<size_t>(y) * im.width + x) * 3;
      if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) cols.insert(x);
    }
  }
  return cols;
}

// Pixels of exactly colour `c` in columns [x0, x1).
int Count(const data::RgbImage& im, Color c, int x0, int x1) {
  int n = 0;
  for (int y = 0; y < im.height; ++y) {
    for (int x = x0; x < x1; ++x) {
      const uint8_t* p =
          im.pixels.data() + (static_cast<size_t>(y) * im.width + x) * 3;
      n += p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
    }
  }
  return n;
}

TEST(HistogramTest, BarsByDecadeAndBandsOverTheirRanges) {
  std::vector<double> v(100, 10.0);
  v.insert(v.end(), 50, 100.0);
  v.insert(v.end(), 10, 1000.0);
  v.push_back(-1);   // left out
  v.push_back(NAN);  // left out
  const Color red = {220, 0, 0}, blue = {0, 0, 220};
  const data::RgbImage im = PlotLogHistogram(
      "sides", "px", v, 4, {{"A", red, 0, 50}, {"B", blue, 30, INFINITY}}, 700,
      400);
  ASSERT_EQ(im.width, 700);
  // Three bars a decade apart, heights 100 : 50 : 10.
  const std::set<int> bars = ColumnsWith(im, {120, 120, 120});
  ASSERT_FALSE(bars.empty());
  const int lo = *bars.begin(), hi = *bars.rbegin();
  const int third = (hi - lo) / 3;
  const int left = Count(im, {120, 120, 120}, lo, lo + third);
  const int middle = Count(im, {120, 120, 120}, lo + third, hi - third);
  const int right = Count(im, {120, 120, 120}, hi - third, hi + 1);
  EXPECT_NEAR(static_cast<double>(middle) / left, 0.5, 0.08);
  EXPECT_NEAR(static_cast<double>(right) / left, 0.1, 0.04);
  // Band A from the axis' start to 50 (past the first bar, before the
  // second); band B from 30 to the axis' end (past the last bar).
  const std::set<int> a = ColumnsWith(im, red);
  const std::set<int> b = ColumnsWith(im, blue);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_LT(*a.begin(), lo);
  EXPECT_GT(*std::prev(a.lower_bound(hi)), lo + 10);
  EXPECT_LT(*std::prev(a.lower_bound(hi)), lo + third + third / 2);
  EXPECT_GT(*b.begin(), lo + 10);
  EXPECT_LT(*b.begin(), lo + third);
  EXPECT_GT(*std::prev(b.lower_bound(im.width - 60)), hi);
  // The legend names both right of the bars.
  EXPECT_GT(CountNearInColumns(im, red, 10, hi + 40, im.width), 60);
  EXPECT_GT(CountNearInColumns(im, blue, 10, hi + 40, im.width), 60);
}

TEST(HistogramTest, NoValuesSaysNoData) {
  const data::RgbImage im = PlotLogHistogram("t", "x", {}, 4, {}, 300, 200);
  EXPECT_EQ(im.width, 300);
  EXPECT_TRUE(ColumnsWith(im, {120, 120, 120}).empty());
}

}  // namespace
}  // namespace sniper::viz
