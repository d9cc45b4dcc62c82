#include "sniper/plot.h"

#include <cmath>

#include "gtest/gtest.h"

namespace sniper {
namespace {

int CountColor(const data::RgbImage& image, Color c) {
  int n = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    n += image.pixels[i] == c[0] && image.pixels[i + 1] == c[1] &&
         image.pixels[i + 2] == c[2];
  }
  return n;
}

data::RgbImage White(int w, int h) {
  data::RgbImage im;
  im.width = w;
  im.height = h;
  im.pixels.assign(static_cast<size_t>(w) * h * 3, 255);
  return im;
}

TEST(PlotTest, RectOutlineHasItsPerimeter) {
  data::RgbImage im = White(50, 40);
  DrawRect(&im, 10, 5, 29, 24, {255, 0, 0}, 1);
  EXPECT_EQ(CountColor(im, {255, 0, 0}), 4 * 19);
  // Clipped at the border without writing out of bounds.
  DrawRect(&im, -5, -5, 30, 30, {0, 0, 255}, 3);
  EXPECT_GT(CountColor(im, {0, 0, 255}), 0);
}

TEST(PlotTest, LineCoversEndpoints) {
  data::RgbImage im = White(20, 20);
  DrawLine(&im, 2, 3, 17, 11, {0, 0, 0});
  EXPECT_EQ(im.at(2, 3)[0], 0);
  EXPECT_EQ(im.at(17, 11)[0], 0);
  EXPECT_EQ(CountColor(im, {0, 0, 0}), 16);  // one pixel per column
}

TEST(PlotTest, TextDrawsGlyphsAndSpacesNothing) {
  data::RgbImage im = White(100, 20);
  EXPECT_EQ(DrawText(&im, 0, 0, "   ", {0, 0, 0}, 2), TextWidth("   ", 2));
  EXPECT_EQ(CountColor(im, {0, 0, 0}), 0);
  DrawText(&im, 0, 0, "1", {0, 0, 0}, 1);
  EXPECT_EQ(CountColor(im, {0, 0, 0}), 8);  // the glyph '1' has 8 cells
  EXPECT_EQ(TextWidth("AB", 2), 14);
}

TEST(PlotTest, SeriesAreDrawnInTheirColours) {
  Series a{"A", {200, 0, 0}, {{0, 1.0}, {10, 0.5}, {20, 0.1}}};
  Series b{"B", {0, 150, 0}, {{0, 2.0}, {20, NAN}, {30, 0.2}}};
  data::RgbImage im = PlotSeries("LOSS", "STEP", {a, b}, 400, 300, true);
  EXPECT_EQ(im.width, 400);
  EXPECT_EQ(im.height, 300);
  EXPECT_GT(CountColor(im, a.color), 100);
  EXPECT_GT(CountColor(im, b.color), 100);
  data::RgbImage empty = PlotSeries("LOSS", "STEP", {}, 200, 100);
  EXPECT_EQ(empty.width, 200);
  data::RgbImage both = StackVertically({im, empty});
  EXPECT_EQ(both.height, 400);
  EXPECT_EQ(both.width, 400);
}

}  // namespace
}  // namespace sniper
