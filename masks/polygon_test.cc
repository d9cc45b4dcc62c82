// File: masks/polygon_test.cc
#include "masks/polygon.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sniper::masks {
namespace {

// The straightforward reference: a pixel is inside when its centre
// (x + 0.5, y + 0.5) is inside the polygon by the even-odd rule.
bool CentreInside(const std::vector<double>& xy, double px, double py) {
  bool inside = false;
  const size_t n = xy.size() / 2;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const double xi = xy[2 * i], yi = xy[2 * i + 1];
    const double xj = xy[2 * j], yj = xy[2 * j + 1];
    if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

double DistanceToBoundary(const std::vector<double>& xy, double px, double py) {
  double best = 1e300;
  const size_t n = xy.size() / 2;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const double ax = xy[2 * j], ay = xy[2 * j + 1];
    const double bx = xy[2 * i], by = xy[2 * i + 1];
    const double dx = bx - ax, dy = by - ay;
    const double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    best = std::min(best, std::hypot(px - ax - t * dx, py - ay - t * dy));
  }
  return best;
}

TEST(PolygonTest, IntegerBoxesAreExact) {
  for (int x = 0; x < 4; ++x) {
    for (int w = 1; w < 6; ++w) {
      const Rle r = RleFromBox(x, 2, w, 3, 12, 11);
      EXPECT_EQ(Area(r), static_cast<uint64_t>(w * 3)) << x << " " << w;
      const MaskBox b = ToBox(r);
      EXPECT_EQ(b.x, x);
      EXPECT_EQ(b.y, 2);
      EXPECT_EQ(b.w, w);
      EXPECT_EQ(b.h, 3);
    }
  }
  // Counter-clockwise or clockwise, the same pixels.
  const Rle cw = RleFromPolygon({1, 1, 4, 1, 4, 3, 1, 3}, 6, 6);
  const Rle ccw = RleFromPolygon({1, 1, 1, 3, 4, 3, 4, 1}, 6, 6);
  EXPECT_EQ(cw, ccw);
  EXPECT_EQ(Area(cw), 6u);
}

TEST(PolygonTest, ClipsToTheImage) {
  const Rle all = RleFromPolygon({-10, -10, -10, 30, 40, 30, 40, -10}, 7, 9);
  EXPECT_EQ(Area(all), 63u);
  EXPECT_EQ(all.counts, (std::vector<uint32_t>{0, 63}));
  // Half outside on the left and the top.
  const Rle corner = RleFromPolygon({-5, -5, -5, 2, 3, 2, 3, -5}, 7, 9);
  EXPECT_EQ(Area(corner), 6u);
  const MaskBox b = ToBox(corner);
  EXPECT_EQ(b.x, 0);
  EXPECT_EQ(b.y, 0);
  EXPECT_EQ(b.w, 3);
  EXPECT_EQ(b.h, 2);
  EXPECT_EQ(Area(RleFromPolygon({20, 20, 30, 20, 30, 30}, 7, 9)), 0u);
}

TEST(PolygonTest, DegenerateInputsGiveEmptyOrTinyMasks) {
  // Repeated vertices (they round to one fine-grid point) change nothing.
  const Rle plain = RleFromPolygon({2, 2, 8, 2, 8, 6, 2, 6}, 10, 10);
  const Rle repeated =
      RleFromPolygon({2, 2, 2.01, 2.01, 8, 2, 8, 2, 8, 6, 2, 6, 2, 6}, 10, 10);
  EXPECT_EQ(plain, repeated);
  EXPECT_EQ(Area(RleFromPolygon({3, 3}, 10, 10)), 0u);
  EXPECT_EQ(Area(RleFromPolygon({3, 3, 7, 7}, 10, 10)), 0u);
  EXPECT_EQ(Area(RleFromPolygon({}, 10, 10)), 0u);
  EXPECT_TRUE(ValidateRle(RleFromPolygon({}, 10, 10)).ok());
}

TEST(PolygonTest, AgreesWithPixelCentresExceptAtTheBoundary) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> coord(-8, 72);
  int disagreements = 0, pixels_inside = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int h = 40 + trial % 23, w = 30 + trial % 31;
    const int n = 3 + trial % 9;  // convex, concave, self-intersecting
    std::vector<double> xy;
    for (int i = 0; i < 2 * n; ++i) xy.push_back(coord(rng));
    const Rle r = RleFromPolygon(xy, h, w);
    ASSERT_TRUE(ValidateRle(r).ok());
    const std::vector<uint8_t> got = DecodeRowMajor(r);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const bool want = CentreInside(xy, x + 0.5, y + 0.5);
        pixels_inside += want;
        if (got[y * w + x] == want) continue;
        ++disagreements;
        // Vertices move by at most 0.1 px on the fine grid, the traced
        // edges and the crossings round by 0.1-0.2 px more.
        ASSERT_LT(DistanceToBoundary(xy, x + 0.5, y + 0.5), 0.5)
            << "trial " << trial << " pixel (" << x << ", " << y << ")";
      }
    }
  }
  // Boundary pixels only: a small share of the area.
  EXPECT_LT(disagreements, pixels_inside / 20);
}

}  // namespace
}  // namespace sniper::masks
