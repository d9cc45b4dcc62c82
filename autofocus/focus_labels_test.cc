// FocusPixel labels on hand-made boxes: each zone of the rule, its
// boundaries, crowds, overlapping boxes in either order, cell coverage at
// cell edges and at the chip's border.
#include "autofocus/focus_labels.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sniper::autofocus {
namespace {

using ::testing::HasSubstr;

// The labels as rows of characters: '+' positive, '.' negative, '?' don't
// care.
std::vector<std::string> Picture(const FocusLabels& l) {
  std::vector<std::string> rows;
  for (int32_t y = 0; y < l.height; ++y) {
    std::string row;
    for (int32_t x = 0; x < l.width; ++x) {
      row += l.at(x, y) == kFocusPositive   ? '+'
             : l.at(x, y) == kFocusDontCare ? '?'
                                            : '.';
    }
    rows.push_back(row);
  }
  return rows;
}

LabelBox Square(double x, double y, double side, bool crowd = false) {
  return LabelBox{x, y, x + side, y + side, crowd};
}

int8_t CentreLabelOfSide(double side) {
  const FocusLabels l =
      MakeFocusLabels({Square(16, 16, side)}, 256, 256, FocusLabelOptions{});
  return l.at(1, 1);
}

TEST(FocusLabelsTest, EachZoneAndItsBoundaries) {
  EXPECT_EQ(CentreLabelOfSide(4), kFocusDontCare);    // s <= 5
  EXPECT_EQ(CentreLabelOfSide(5), kFocusDontCare);    // s <= 5
  EXPECT_EQ(CentreLabelOfSide(5.5), kFocusPositive);  // 5 < s < 64
  EXPECT_EQ(CentreLabelOfSide(63.9), kFocusPositive);
  EXPECT_EQ(CentreLabelOfSide(64), kFocusDontCare);  // 64 <= s < 90
  EXPECT_EQ(CentreLabelOfSide(89.9), kFocusDontCare);
  EXPECT_EQ(CentreLabelOfSide(90), kFocusNegative);  // s >= 90
  EXPECT_EQ(CentreLabelOfSide(200), kFocusNegative);
  // s is sqrt(w * h): a 10 x 400 bar (s = 63.2) is positive.
  const FocusLabels bar =
      MakeFocusLabels({LabelBox{0, 0, 10, 400}}, 32, 400, FocusLabelOptions{});
  EXPECT_EQ(bar.at(0, 24), kFocusPositive);
}

TEST(FocusLabelsTest, BoxCoversTheCellsItsAreaOverlaps) {
  // [16, 48) x [16, 48): cells 1-2 exactly (edges on cell boundaries);
  // [20, 34) x [0, 14): cells 1-2 in x, row 0.
  const FocusLabels l =
      MakeFocusLabels({Square(16, 16, 32), LabelBox{20, 0, 34, 14}}, 100, 50,
                      FocusLabelOptions{});
  EXPECT_EQ(l.width, 7);  // ceil(100 / 16)
  EXPECT_EQ(l.height, 4);
  EXPECT_EQ(Picture(l), (std::vector<std::string>{".++....", ".++....",
                                                  ".++....", "......."}));
}

TEST(FocusLabelsTest, OverlapsFavourPositiveThenDontCareInEitherOrder) {
  // A 70 px (don't care) box over [0, 70) and a 20 px (positive) one
  // inside it at [32, 52); a crowd region over the right side.
  const std::vector<LabelBox> boxes = {Square(0, 0, 70), Square(32, 32, 20),
                                       LabelBox{96, 0, 128, 20, true}};
  const std::vector<std::string> want = {"?????.??", "?????.??", "??++?...",
                                         "??++?...", "?????...", "........"};
  EXPECT_EQ(Picture(MakeFocusLabels(boxes, 128, 96, FocusLabelOptions{})),
            want);
  const std::vector<LabelBox> reversed(boxes.rbegin(), boxes.rend());
  EXPECT_EQ(Picture(MakeFocusLabels(reversed, 128, 96, FocusLabelOptions{})),
            want);
}

TEST(FocusLabelsTest, BoxesPastTheChipAreClippedAndEmptyOnesIgnored) {
  const FocusLabels l =
      MakeFocusLabels({LabelBox{-10, 40, 20, 60}, LabelBox{30, 30, 30, 60}}, 48,
                      64, FocusLabelOptions{});
  EXPECT_EQ(Picture(l), (std::vector<std::string>{"...", "...", "++.", "++."}));
  EXPECT_TRUE(MakeFocusLabels({}, 0, 0, FocusLabelOptions{}).label.empty());
}

TEST(FocusLabelsTest, OptionsAreValidatedNamingTheField) {
  EXPECT_TRUE(ValidateFocusLabelOptions(FocusLabelOptions{}, "m").ok());
  FocusLabelOptions bad;
  bad.small_max = 100;  // > dont_care_max
  EXPECT_THAT(ValidateFocusLabelOptions(bad, "model.focus.labels").message(),
              HasSubstr("model.focus.labels: need 0 <= small_min < "
                        "small_max <= dont_care_max, got 5, 100, 90"));
  FocusLabelOptions stride;
  stride.stride = 0;
  EXPECT_THAT(ValidateFocusLabelOptions(stride, "m").message(),
              HasSubstr("m.stride: must be >= 1"));
}

}  // namespace
}  // namespace sniper::autofocus
