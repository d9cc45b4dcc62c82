// File: masks/paste_test.cc
#include "masks/paste.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "masks/polygon.h"
#include "masks/testing/shapes.h"

namespace sniper::masks {
namespace {

TEST(PasteMaskTest, AFullGridSetsThePixelsWhoseCentresAreInTheBox) {
  const std::vector<float> ones(16, 1.0f);
  const Rle r = PasteMask(ones, 4, RoiBox{2.0, 3.0, 10.0, 7.0}, 10, 12);
  EXPECT_EQ(r.height, 10);
  EXPECT_EQ(r.width, 12);
  EXPECT_EQ(Area(r), 8u * 4u);
  const std::vector<uint8_t> d = DecodeRowMajor(r);
  EXPECT_EQ(d[3 * 12 + 2], 1);
  EXPECT_EQ(d[6 * 12 + 9], 1);
  EXPECT_EQ(d[2 * 12 + 2], 0);
  EXPECT_EQ(d[3 * 12 + 10], 0);
  // Fractional edges: a centre at 2.5 is inside [2.4, ...), 9.5 inside
  // [..., 9.6), 9.5 outside [..., 9.4).
  EXPECT_EQ(Area(PasteMask(ones, 4, RoiBox{2.4, 3, 9.6, 4}, 10, 12)), 8u);
  EXPECT_EQ(Area(PasteMask(ones, 4, RoiBox{2.6, 3, 9.4, 4}, 10, 12)), 6u);
}

TEST(PasteMaskTest, BoxesOutsideTheImageAreClippedAndEmptyBoxesClear) {
  const std::vector<float> ones(4, 1.0f);
  EXPECT_EQ(Area(PasteMask(ones, 2, RoiBox{-5, -5, 3, 2}, 6, 6)), 3u * 2u);
  EXPECT_EQ(Area(PasteMask(ones, 2, RoiBox{4, 4, 9, 9}, 6, 6)), 4u);
  EXPECT_EQ(Area(PasteMask(ones, 2, RoiBox{3, 3, 3, 5}, 6, 6)), 0u);
  EXPECT_EQ(Area(PasteMask(ones, 2, RoiBox{8, 8, 12, 12}, 6, 6)), 0u);
  // A grid of the wrong size pastes nothing rather than reading past it.
  EXPECT_EQ(Area(PasteMask(ones, 3, RoiBox{0, 0, 6, 6}, 6, 6)), 0u);
}

TEST(PasteMaskTest, BilinearBetweenCellsThresholdedAtOneHalf) {
  // Left column 1, right column 0 over a 20 px wide box: the value falls
  // from 1 at the left cell's centre (x = 5) to 0 at the right one's
  // (x = 15); pixels with centres up to x = 10 keep >= 0.5.
  const std::vector<float> half = {1, 0, 1, 0};
  const Rle r = PasteMask(half, 2, RoiBox{0, 0, 20, 4}, 4, 20);
  const std::vector<uint8_t> d = DecodeRowMajor(r);
  for (int x = 0; x < 20; ++x) EXPECT_EQ(d[x], x + 0.5 <= 10 ? 1 : 0) << x;
}

TEST(PasteMaskTest, TargetThenPasteGivesBackTheShape) {
  // A disc's 28 x 28 target over its box, pasted back at image size, is
  // the disc's own raster up to the grid's resolution.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 20; ++trial) {
    const double cx = 60 + 80 * u(rng), cy = 50 + 60 * u(rng);
    const double r = 10 + 40 * u(rng);
    const std::vector<double> xy = testing::DiscPolygon(cx, cy, r, 40);
    Segmentation s;
    s.AddPolygon(xy);
    const RoiBox box{cx - r, cy - r, cx + r, cy + r};
    const std::vector<uint8_t> t = MaskTarget(s, box, 28);
    const std::vector<float> p(t.begin(), t.end());
    const Rle pasted = PasteMask(p, 28, box, 180, 200);
    const Rle truth = RleFromPolygon(xy, 180, 200);
    const double iou = Iou(pasted, truth, /*crowd=*/false);
    EXPECT_GT(iou, 0.9) << "trial " << trial << " radius " << r;
  }
}

}  // namespace
}  // namespace sniper::masks
