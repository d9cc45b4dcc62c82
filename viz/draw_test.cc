#include "viz/draw.h"

#include "gtest/gtest.h"
#include "viz/testing_util.h"

namespace sniper::viz {
namespace {

using ::sniper::viz::testing::CountColor;
using ::sniper::viz::testing::CountDark;

constexpr Color kBlack = {0, 0, 0};

TEST(DrawTest, BlankIsFilled) {
  data::RgbImage im = Blank(4, 3, {1, 2, 3});
  EXPECT_EQ(im.width, 4);
  EXPECT_EQ(CountColor(im, {1, 2, 3}), 12);
}

TEST(DrawTest, BlendMaskTintsOnlyTheMasksPixels) {
  data::RgbImage im = Blank(4, 2, {100, 100, 100});
  std::vector<uint8_t> mask = {1, 0, 0, 1, 0, 0, 1, 0};
  EXPECT_EQ(BlendMask(&im, mask, {200, 0, 100}, 0.5f), 3);
  EXPECT_EQ(CountColor(im, {150, 50, 100}), 3);
  EXPECT_EQ(CountColor(im, {100, 100, 100}), 5);
  // A mask of another size draws nothing.
  mask.pop_back();
  EXPECT_EQ(BlendMask(&im, mask, {0, 0, 0}), 0);
}

TEST(DrawTest, RectOutlineHasItsPerimeter) {
  data::RgbImage im = Blank(50, 40);
  DrawRect(&im, 10, 5, 29, 24, {255, 0, 0}, 1);
  EXPECT_EQ(CountColor(im, {255, 0, 0}), 4 * 19);
  // Clipped at the border without writing out of bounds.
  DrawRect(&im, -5, -5, 30, 30, {0, 0, 255}, 3);
  EXPECT_GT(CountColor(im, {0, 0, 255}), 0);
}

TEST(DrawTest, LineReachesItsEndpoints) {
  data::RgbImage im = Blank(20, 20);
  DrawLine(&im, 2, 3, 17, 11, kBlack);
  EXPECT_LT(im.at(2, 3)[0], 160);
  EXPECT_LT(im.at(17, 11)[0], 160);
  EXPECT_GE(CountDark(im), 12);  // about one pixel per column (antialiased)
  EXPECT_LE(CountDark(im), 24);
}

TEST(DrawTest, TextDrawsInkAndSpacesNothing) {
  data::RgbImage im = Blank(100, 20);
  EXPECT_EQ(DrawText(&im, 0, 0, "   ", kBlack, 2), TextWidth("   ", 2));
  EXPECT_EQ(CountDark(im), 0);
  DrawText(&im, 2, 2, "1", kBlack, 2);
  EXPECT_GT(CountDark(im), 5);
  EXPECT_GT(TextWidth("AB", 2), TextWidth("A", 2));
  EXPECT_GT(TextWidth("A", 4), TextWidth("A", 2));
  // The capitals start at y and fit in TextHeight.
  data::RgbImage top = Blank(60, 40);
  DrawText(&top, 2, 10, "HE", kBlack, 2);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 60; ++x) {
      if (top.at(x, y)[0] < 128) {
        EXPECT_GE(y, 9) << x;
        EXPECT_LT(y, 10 + TextHeight(2)) << x;
      }
    }
  }
}

// Labels keep the data's case: COCO's names are lower case.
TEST(DrawTest, LowerCaseHasItsOwnGlyphs) {
  const std::string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const std::string lower = "abcdefghijklmnopqrstuvwxyz";
  for (size_t i = 0; i < upper.size(); ++i) {
    data::RgbImage a = Blank(24, 24), b = Blank(24, 24);
    DrawText(&a, 2, 4, upper.substr(i, 1), kBlack, 2);
    DrawText(&b, 2, 4, lower.substr(i, 1), kBlack, 2);
    EXPECT_GT(CountDark(b), 0) << lower[i];
    EXPECT_NE(a.pixels, b.pixels) << lower[i];
  }
  for (char c : std::string("!?'\"*#<>\\;")) {
    data::RgbImage im = Blank(24, 24);
    DrawText(&im, 2, 4, std::string(1, c), kBlack, 2);
    EXPECT_GT(CountDark(im), 0) << c;
  }
}

TEST(DrawTest, LabeledBoxesAboveTheThresholdInClassColours) {
  data::RgbImage im = Blank(200, 120);
  const std::vector<LabeledBox> boxes = {{20, 30, 80, 90, 0.9f, 1},
                                         {100, 30, 150, 90, 0.2f, 2}};
  EXPECT_EQ(DrawLabeledBoxes(&im, boxes, {"disc", "ring", "bar"}, 0.5f), 1);
  EXPECT_GT(CountColor(im, PaletteColor(1)), 0);
  EXPECT_EQ(CountColor(im, PaletteColor(2)), 0);
}

}  // namespace
}  // namespace sniper::viz
