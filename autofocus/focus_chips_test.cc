// FocusChips on hand-made focus maps (each step of AUTOFOCUS.md's rule) and
// the border rule on hand-placed detections.
#include "autofocus/focus_chips.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sniper::autofocus {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

FocusMap Map(int32_t w, int32_t h, std::vector<std::pair<int, int>> hot,
             float p = 0.9f) {
  FocusMap m;
  m.width = w;
  m.height = h;
  m.prob.assign(static_cast<size_t>(w) * h, 0.01f);
  for (auto [x, y] : hot) m.prob[static_cast<size_t>(y) * w + x] = p;
  return m;
}

FocusChipOptions Options(double t, int d, int k) {
  FocusChipOptions o;
  o.threshold = t;
  o.dilation = d;
  o.min_size = k;
  return o;
}

TEST(FocusChipsTest, EmptyMapGivesNoChips) {
  EXPECT_THAT(FocusChips(Map(40, 30, {}), Options(0.5, 3, 16)), IsEmpty());
  EXPECT_THAT(FocusChips(FocusMap{}, Options(0.5, 3, 16)), IsEmpty());
}

TEST(FocusChipsTest, SingleCellIsDilatedThenGrownAroundItsCentre) {
  // Cell (20, 15); 3x3 dilation gives [19, 22) x [14, 17); grown to 4x4.
  EXPECT_THAT(FocusChips(Map(40, 30, {{20, 15}}), Options(0.5, 3, 1)),
              ElementsAre(CellRect{19, 14, 22, 17}));
  EXPECT_THAT(FocusChips(Map(40, 30, {{20, 15}}), Options(0.5, 3, 6)),
              ElementsAre(CellRect{18, 13, 24, 19}));
  // No dilation, k = 1: the cell itself.
  EXPECT_THAT(FocusChips(Map(40, 30, {{20, 15}}), Options(0.5, 1, 1)),
              ElementsAre(CellRect{20, 15, 21, 16}));
  // Below the threshold: nothing.
  EXPECT_THAT(FocusChips(Map(40, 30, {{20, 15}}, 0.3f), Options(0.5, 3, 6)),
              IsEmpty());
}

TEST(FocusChipsTest, DiagonalNeighboursAreOneComponent) {
  EXPECT_THAT(FocusChips(Map(20, 20, {{5, 5}, {6, 6}}), Options(0.5, 1, 1)),
              ElementsAre(CellRect{5, 5, 7, 7}));
  // Two cells apart: two components.
  EXPECT_THAT(FocusChips(Map(20, 20, {{5, 5}, {7, 7}}), Options(0.5, 1, 1)),
              ElementsAre(CellRect{5, 5, 6, 6}, CellRect{7, 7, 8, 8}));
}

TEST(FocusChipsTest, NearbyBlobsMergeWhenTheirGrownChipsOverlap) {
  // Blobs at x = 10 and x = 18 (same row): separate components, but grown
  // to 10 cells wide their chips overlap ([6, 16) and [14, 24)), so one
  // chip spans both; a blob far away stays its own chip.
  const FocusMap m = Map(80, 40, {{10, 20}, {18, 20}, {70, 5}});
  EXPECT_THAT(FocusChips(m, Options(0.5, 3, 10)),
              ElementsAre(CellRect{66, 1, 76, 11}, CellRect{6, 16, 24, 26}));
  // Small chips: no overlap, three chips.
  EXPECT_EQ(FocusChips(m, Options(0.5, 3, 3)).size(), 3u);
}

TEST(FocusChipsTest, MergingRepeatsUntilStable) {
  // A and C do not overlap, B overlaps both: one chip after two merges.
  const FocusMap m = Map(60, 10, {{5, 5}, {13, 5}, {21, 5}});
  EXPECT_THAT(FocusChips(m, Options(0.5, 1, 9)),
              ElementsAre(CellRect{1, 1, 26, 10}));
}

TEST(FocusChipsTest, BlobAtTheImageBorderIsShiftedInside) {
  // Corner cell: the 16x16 chip starts at the corner instead of leaving the
  // map; a map narrower than k gives the whole width.
  EXPECT_THAT(FocusChips(Map(40, 30, {{0, 0}}), Options(0.5, 3, 16)),
              ElementsAre(CellRect{0, 0, 16, 16}));
  EXPECT_THAT(FocusChips(Map(40, 30, {{39, 29}}), Options(0.5, 3, 16)),
              ElementsAre(CellRect{24, 14, 40, 30}));
  EXPECT_THAT(FocusChips(Map(10, 30, {{9, 15}}), Options(0.5, 3, 16)),
              ElementsAre(CellRect{0, 8, 10, 24}));
}

TEST(FocusChipsTest, OptionsAreValidatedNamingTheField) {
  EXPECT_TRUE(ValidateFocusChipOptions(Options(0.02, 3, 16), "f").ok());
  EXPECT_THAT(
      ValidateFocusChipOptions(Options(1.5, 3, 16), "eval.af[0]").message(),
      HasSubstr("eval.af[0].threshold: must be in [0, 1]"));
  EXPECT_THAT(ValidateFocusChipOptions(Options(0.5, 2, 16), "f").message(),
              HasSubstr("f.dilation: must be odd"));
  EXPECT_THAT(ValidateFocusChipOptions(Options(0.5, 3, 0), "f").message(),
              HasSubstr("f.min_size: must be >= 1"));
}

TEST(FocusChipsTest, DetectionsCutByAnInnerChipBorderAreDropped) {
  const PixelBox chip{100, 100, 356, 356};  // inside a 1000x800 image
  const PixelBox inside{150, 150, 200, 200};
  const PixelBox at_left{100.5, 150, 160, 200};
  const PixelBox at_bottom{150, 300, 200, 356};
  EXPECT_FALSE(CutByChipBorder(inside, chip, 1000, 800, 2));
  EXPECT_TRUE(CutByChipBorder(at_left, chip, 1000, 800, 2));
  EXPECT_TRUE(CutByChipBorder(at_bottom, chip, 1000, 800, 2));
  // A chip side on the image border cuts nothing: the object ends there.
  const PixelBox corner_chip{0, 0, 256, 256};
  EXPECT_FALSE(
      CutByChipBorder(PixelBox{0, 0, 50, 50}, corner_chip, 1000, 800, 2));
  EXPECT_TRUE(
      CutByChipBorder(PixelBox{0, 0, 255, 50}, corner_chip, 1000, 800, 2));
}

TEST(FocusChipsTest, PiecesPasteIntoTheImageMapByCellCentre) {
  FocusMap image = Map(6, 4, {});
  for (float& v : image.prob) v = 0;
  // A 2 x 2 piece at pixel (0, 0): cells (0..1, 0..1).
  FocusMap a = Map(2, 2, {{1, 1}}, 0.8f);
  PasteFocusMap(a, 0, 0, 16, &image);
  EXPECT_FLOAT_EQ(image.at(1, 1), 0.8f);
  EXPECT_FLOAT_EQ(image.at(0, 0), 0.01f);
  EXPECT_FLOAT_EQ(image.at(2, 2), 0.0f);  // seen by no window
  // A piece at pixel (40, 20): its cell (0, 0) is centred at (48, 28), in
  // image cell (3, 1); overlapping windows keep the maximum.
  FocusMap b = Map(4, 4, {{0, 0}}, 0.5f);
  PasteFocusMap(b, 40, 20, 16, &image);
  EXPECT_FLOAT_EQ(image.at(3, 1), 0.5f);
  FocusMap c = Map(1, 1, {{0, 0}}, 0.3f);
  PasteFocusMap(c, 40, 20, 16, &image);
  EXPECT_FLOAT_EQ(image.at(3, 1), 0.5f);
  // Piece cells beyond the image (x 40 + 3 * 16 + 8 = 96 -> cell 6) are
  // dropped, not wrapped.
  EXPECT_FLOAT_EQ(image.at(5, 1), 0.01f);
  EXPECT_FLOAT_EQ(image.at(0, 2), 0.0f);
}

TEST(FocusChipsTest, CellsMapToTheNextScaleRoundedOutwardsAndClipped) {
  // Cells [2, 5) x [1, 3) at scale 0.5 (pixels [32, 80) x [16, 48)) at
  // scale 1.5: x3 -> [96, 240) x [48, 144).
  const PixelBox p = CellsAtScale({2, 1, 5, 3}, 16, 0.5, 1.5, 1000, 1000);
  EXPECT_DOUBLE_EQ(p.x1, 96);
  EXPECT_DOUBLE_EQ(p.y1, 48);
  EXPECT_DOUBLE_EQ(p.x2, 240);
  EXPECT_DOUBLE_EQ(p.y2, 144);
  // A ratio that is not an integer rounds outwards; the last cells are
  // clipped to the next scale's image.
  const PixelBox q = CellsAtScale({1, 0, 4, 2}, 16, 0.3, 0.7, 140, 1000);
  EXPECT_DOUBLE_EQ(q.x1, 37);   // 16 * 7 / 3 = 37.33
  EXPECT_DOUBLE_EQ(q.y2, 75);   // 32 * 7 / 3 = 74.67
  EXPECT_DOUBLE_EQ(q.x2, 140);  // 149.33, clipped
}

}  // namespace
}  // namespace sniper::autofocus
