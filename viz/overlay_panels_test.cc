// The overlay panels: side by side, the heat grid tinted where it is high,
// thin rectangles white and thick ones yellow, fractional corners covered.
#include "viz/overlay_panels.h"

#include "gtest/gtest.h"

namespace sniper::viz {
namespace {

data::RgbImage Grey(int w, int h) {
  data::RgbImage image;
  image.width = w;
  image.height = h;
  image.pixels.assign(static_cast<size_t>(w) * h * 3, 100);
  return image;
}

TEST(OverlayPanelsTest, TintsHotCellsAndOutlinesRectangles) {
  data::RgbImage image = Grey(200, 100);
  OverlayPanel a;
  // 7 x 4 cells of 16 at scale 0.5: cell (5, 2) is original [160, 192) x
  // [64, 96).
  a.heat = {7, 4, std::vector<float>(28, 0.0f), 0.5, 16};
  a.heat.values[2 * 7 + 5] = 1.0f;
  a.thick = {{20, 50, 60, 90}};
  OverlayPanel b;
  b.thin = {{20.5, 50, 59.2, 90}};
  data::RgbImage out = DrawOverlayPanels(image, {a, b});
  ASSERT_EQ(out.width, 2 * 200 + 8);
  ASSERT_EQ(out.height, 100);
  EXPECT_GE(out.at(170, 80)[0], 190);  // hot: red
  EXPECT_LT(out.at(170, 80)[1], 60);
  EXPECT_EQ(out.at(100, 80)[0], 100);  // cold: untouched
  EXPECT_EQ(out.at(40, 50)[0], 255);   // thick: yellow
  EXPECT_EQ(out.at(40, 50)[1], 220);
  EXPECT_EQ(out.at(40, 50)[2], 0);
  EXPECT_EQ(out.at(208 + 40, 50)[2], 255);  // thin: white
  EXPECT_EQ(out.at(208 + 59, 70)[2], 255);  // x2 59.2 -> column 59
  EXPECT_EQ(out.at(208 + 40, 70)[0], 100);  // inside: untouched
  // No panels: the image itself.
  EXPECT_EQ(DrawOverlayPanels(image, {}).pixels, image.pixels);
}

}  // namespace
}  // namespace sniper::viz
