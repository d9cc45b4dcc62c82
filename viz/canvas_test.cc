#include "viz/canvas.h"

#include "gtest/gtest.h"
#include "viz/testing_util.h"

namespace sniper::viz {
namespace {

using ::sniper::viz::testing::CountColor;
using ::sniper::viz::testing::CountDark;

constexpr Color kWhite = {255, 255, 255};
constexpr Color kBlack = {0, 0, 0};

TEST(CanvasTest, ImageRoundTripsThroughTheSurface) {
  data::RgbImage im;
  im.width = 3;
  im.height = 2;
  im.pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_EQ(Canvas(im).Image().pixels, im.pixels);
  const data::RgbImage blank = Canvas(4, 5, {9, 8, 7}).Image();
  EXPECT_EQ(blank.width, 4);
  EXPECT_EQ(blank.height, 5);
  EXPECT_EQ(CountColor(blank, {9, 8, 7}), 20);
}

// An outline of odd width is crisp: exactly its pixels, in its colour.
TEST(CanvasTest, StrokeRectCoversItsPerimeterExactly) {
  Canvas c(50, 40, kWhite);
  c.StrokeRect(10, 5, 29, 24, {255, 0, 0}, 1);
  EXPECT_EQ(CountColor(c.Image(), {255, 0, 0}), 4 * 19);
  Canvas thick(50, 40, kWhite);
  thick.StrokeRect(10, 5, 29, 24, {0, 0, 255}, 3);  // grows outwards
  const data::RgbImage im = thick.Image();
  EXPECT_EQ(CountColor(im, {0, 0, 255}), 24 * 24 - 18 * 18);
  EXPECT_EQ(CountColor(im, kWhite), 50 * 40 - (24 * 24 - 18 * 18));
}

TEST(CanvasTest, FillRectWithAlphaBlends) {
  Canvas c(10, 10, kWhite);
  c.FillRect(0, 0, 5, 10, kBlack, 0.5);
  const data::RgbImage im = c.Image();
  EXPECT_EQ(CountColor(im, kWhite), 50);
  EXPECT_EQ(CountColor(im, {128, 128, 128}) + CountColor(im, {127, 127, 127}),
            50);
}

TEST(CanvasTest, LinesAreAntialiasedAndReachTheirEnds) {
  Canvas c(40, 40, kWhite);
  c.Line(2.5, 3.5, 37.5, 30.5, kBlack, 1.5);
  const data::RgbImage im = c.Image();
  const int dark = CountDark(im);
  EXPECT_GE(dark, 30);  // about one pixel per column, a bit more
  EXPECT_LE(dark, 80);
  int grey = 0;  // partly covered pixels: antialiasing
  for (size_t i = 0; i < im.pixels.size(); i += 3) {
    grey += im.pixels[i] > 20 && im.pixels[i] < 235;
  }
  EXPECT_GT(grey, 10);
  EXPECT_LT(im.pixels[(3 * 40 + 2) * 3], 200);    // near (2, 3)
  EXPECT_LT(im.pixels[(30 * 40 + 37) * 3], 200);  // near (37, 30)
}

TEST(CanvasTest, TextHasInkWidthAndAlignment) {
  Canvas::TextStyle style;
  style.size = 20;
  Canvas c(200, 40, kWhite);
  EXPECT_EQ(c.Text(10, 30, "   ", kBlack, style), c.TextWidth("   ", style));
  EXPECT_EQ(CountDark(c.Image()), 0);  // spaces draw nothing
  const double w = c.Text(10, 30, "AP 0.593", kBlack, style);
  EXPECT_GT(w, 60);
  EXPECT_LT(w, 120);
  EXPECT_GT(CountDark(c.Image()), 50);
  EXPECT_GT(c.CapHeight(style), 10);
  EXPECT_LT(c.CapHeight(style), 20);
  // A real, proportional font.
  EXPECT_GT(c.TextWidth("WWW", style), c.TextWidth("iii", style));
  // Right-aligned text ends at x: nothing drawn right of it.
  Canvas r(200, 40, kWhite);
  style.align = Canvas::Align::kRight;
  r.Text(100, 30, "right", kBlack, style);
  const data::RgbImage im = r.Image();
  int right_of = 0, left_of = 0;
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 200; ++x) {
      const bool ink = im.pixels[(y * 200 + x) * 3] < 128;
      (x > 101 ? right_of : left_of) += ink;
    }
  }
  EXPECT_EQ(right_of, 0);
  EXPECT_GT(left_of, 20);
}

}  // namespace
}  // namespace sniper::viz
