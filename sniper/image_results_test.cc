// The AutoFocus picture from a trace: panels side by side, the map tinted
// where it is high, FocusChips outlined where they are in original pixels.
#include "sniper/image_results.h"

#include "gtest/gtest.h"

namespace sniper {
namespace {

TEST(DrawFocusTraceTest, TintsHighCellsAndOutlinesFocusChips) {
  data::RgbImage image;
  image.width = 200;
  image.height = 100;
  image.pixels.assign(200 * 100 * 3, 100);
  autofocus::FocusStep coarse;
  coarse.scale_index = 1;
  coarse.at.scale = 0.5;  // 100 x 50 scaled, 7 x 4 cells of 16
  coarse.at.scaled_width = 100;
  coarse.at.scaled_height = 50;
  coarse.map.width = 7;
  coarse.map.height = 4;
  coarse.map.prob.assign(28, 0.0f);
  // Cell (5, 2): original [160, 192) x [64, 96).
  coarse.map.prob[2 * 7 + 5] = 1.0f;
  coarse.windows = {{0, 0, 100, 50}};
  coarse.next_scale_index = 0;
  coarse.next_scale = 1.0;
  coarse.next_chips = {{20, 50, 60, 90}};  // original pixels at scale 1
  autofocus::FocusStep fine;
  fine.scale_index = 0;
  fine.at.scale = 1.0;
  fine.windows = coarse.next_chips;
  data::RgbImage o = DrawFocusTrace(image, {coarse, fine}, 16);
  EXPECT_EQ(o.width, 2 * 200 + 8);
  EXPECT_EQ(o.height, 100);
  // A hot cell is red; a cold one keeps its grey.
  EXPECT_GE(o.at(170, 80)[0], 190);
  EXPECT_LT(o.at(170, 80)[1], 60);
  EXPECT_EQ(o.at(100, 80)[0], 100);
  // The window at scale 0.5 covers the whole image (white border).
  EXPECT_EQ(o.at(199, 30)[1], 255);
  // The FocusChip's outline (yellow) on the first panel; the second panel
  // outlines the same rectangle as the window it ran in (white). (The
  // captions sit in the top-left corners.)
  EXPECT_EQ(o.at(40, 50)[0], 255);
  EXPECT_EQ(o.at(40, 50)[1], 220);
  EXPECT_EQ(o.at(40, 50)[2], 0);
  EXPECT_EQ(o.at(208 + 40, 50)[2], 255);
  EXPECT_EQ(o.at(208 + 40, 70)[0], 100);  // inside: untouched
}

}  // namespace
}  // namespace sniper
