// File: masks/roi_target_test.cc
#include "masks/roi_target.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "masks/polygon.h"
#include "masks/rle.h"
#include "masks/testing/shapes.h"

namespace sniper::masks {
namespace {

std::vector<uint8_t> RandomBlobs(std::mt19937* rng, int h, int w) {
  std::vector<uint8_t> m(static_cast<size_t>(h) * w, 0);
  std::uniform_int_distribution<int> pick(0, 1 << 30);
  for (int k = 0; k < 3; ++k) {
    const int x0 = pick(*rng) % w, y0 = pick(*rng) % h;
    const int x1 = std::min(w, x0 + 1 + pick(*rng) % w);
    const int y1 = std::min(h, y0 + 1 + pick(*rng) % h);
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) m[y * w + x] ^= 1;
    }
  }
  return m;
}

TEST(RoiTargetTest, DecodeCropIsTheDenseMasksCrop) {
  std::mt19937 rng(21);
  for (int trial = 0; trial < 300; ++trial) {
    const int h = 1 + trial % 19, w = 1 + (trial * 7) % 23;
    const std::vector<uint8_t> dense = RandomBlobs(&rng, h, w);
    const Rle rle = EncodeRowMajor(dense, h, w);
    // Crops that stick out of the image on any side.
    const int x0 = static_cast<int>(rng() % (w + 6)) - 3;
    const int y0 = static_cast<int>(rng() % (h + 6)) - 3;
    const int cw = 1 + static_cast<int>(rng() % (w + 4));
    const int ch = 1 + static_cast<int>(rng() % (h + 4));
    const std::vector<uint8_t> crop = DecodeCrop(rle, x0, y0, cw, ch);
    ASSERT_EQ(crop.size(), static_cast<size_t>(cw) * ch);
    for (int y = 0; y < ch; ++y) {
      for (int x = 0; x < cw; ++x) {
        const int ix = x0 + x, iy = y0 + y;
        const uint8_t want =
            ix >= 0 && iy >= 0 && ix < w && iy < h ? dense[iy * w + ix] : 0;
        ASSERT_EQ(crop[y * cw + x], want)
            << "trial " << trial << " at (" << x << ", " << y << ")";
      }
    }
  }
}

// The straightforward reference for an RLE's target: the whole image
// decoded, each cell's centre sampled bilinearly, >= 0.5.
std::vector<uint8_t> DenseTarget(const std::vector<uint8_t>& dense, int h,
                                 int w, const RoiBox& b, int m) {
  auto at = [&](int x, int y) -> double {
    return x >= 0 && y >= 0 && x < w && y < h ? dense[y * w + x] : 0;
  };
  std::vector<uint8_t> out(m * m);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      const double x = b.x1 + (j + 0.5) * (b.x2 - b.x1) / m - 0.5;
      const double y = b.y1 + (i + 0.5) * (b.y2 - b.y1) / m - 0.5;
      const int xi = static_cast<int>(std::floor(x));
      const int yi = static_cast<int>(std::floor(y));
      const double fx = x - xi, fy = y - yi;
      const double v =
          (1 - fy) * (1 - fx) * at(xi, yi) + (1 - fy) * fx * at(xi + 1, yi) +
          fy * (1 - fx) * at(xi, yi + 1) + fy * fx * at(xi + 1, yi + 1);
      out[i * m + j] = v >= 0.5;
    }
  }
  return out;
}

TEST(RoiTargetTest, RleTargetsMatchTheDenseReference) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  int mismatched = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int h = 20 + trial % 40, w = 20 + (trial * 3) % 50;
    const std::vector<uint8_t> dense = RandomBlobs(&rng, h, w);
    const Segmentation s = Segmentation::FromRle(EncodeRowMajor(dense, h, w));
    RoiBox b;
    b.x1 = u(rng) * w - 5;
    b.y1 = u(rng) * h - 5;
    b.x2 = b.x1 + 1 + u(rng) * w;
    b.y2 = b.y1 + 1 + u(rng) * h;
    const int m = trial % 2 ? 28 : 14;
    const std::vector<uint8_t> got = MaskTarget(s, b, m);
    const std::vector<uint8_t> want = DenseTarget(dense, h, w, b, m);
    // The same arithmetic in another order: a cell at exactly 0.5 could
    // round either way; none should differ in practice.
    for (size_t k = 0; k < got.size(); ++k) mismatched += got[k] != want[k];
  }
  EXPECT_EQ(mismatched, 0);
}

TEST(RoiTargetTest, PolygonFillingTheBoxIsAllOnes) {
  Segmentation s;
  s.AddPolygon(std::vector<double>{10, 20, 40, 20, 40, 35, 10, 35});
  const std::vector<uint8_t> t = MaskTarget(s, RoiBox{10, 20, 40, 35}, 28);
  int set = 0;
  for (uint8_t v : t) set += v;
  EXPECT_EQ(set, 28 * 28);
  // The left half of the box: the left 14 columns.
  const std::vector<uint8_t> half = MaskTarget(s, RoiBox{-20, 20, 40, 35}, 28);
  for (int i = 0; i < 28; ++i) {
    for (int j = 0; j < 28; ++j) {
      ASSERT_EQ(half[i * 28 + j], j >= 14 ? 1 : 0) << i << " " << j;
    }
  }
}

TEST(RoiTargetTest, PolygonAndRleTargetsOfOneShapeAgree) {
  // A disc as a 32-gon: its polygon target and the target of its
  // rasterised full-image RLE describe the same shape.
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    const double cx = 40 + 60 * u(rng), cy = 40 + 40 * u(rng);
    const double r = 8 + 30 * u(rng);
    const std::vector<double> xy = testing::DiscPolygon(cx, cy, r, 32);
    Segmentation poly;
    poly.AddPolygon(xy);
    const Segmentation rle =
        Segmentation::FromRle(RleFromPolygon(xy, 120, 140));
    const RoiBox b{cx - r * (0.8 + 0.4 * u(rng)), cy - r * (0.8 + 0.4 * u(rng)),
                   cx + r * (0.8 + 0.4 * u(rng)),
                   cy + r * (0.8 + 0.4 * u(rng))};
    const std::vector<uint8_t> a = MaskTarget(poly, b, 28);
    const std::vector<uint8_t> c = MaskTarget(rle, b, 28);
    int inter = 0, uni = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      inter += a[k] & c[k];
      uni += a[k] | c[k];
    }
    EXPECT_GT(static_cast<double>(inter) / uni, 0.85) << "trial " << trial;
  }
}

// Cells on which two M x M targets agree, as a fraction.
double Agreement(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int same = 0;
  for (size_t k = 0; k < a.size(); ++k) same += a[k] == b[k];
  return static_cast<double>(same) / a.size();
}

TEST(RoiTargetTest, ChipTargetsAreTheTargetsOfThePolygonMovedIntoTheChip) {
  // Reference: move the polygon itself into chip pixels (scale, shift,
  // mirror) and take its target for the chip RoI there.
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 40; ++trial) {
    ChipFrame f;
    f.scale = 0.5 + 3 * u(rng);
    f.offset_x = 200 * u(rng);
    f.offset_y = 200 * u(rng);
    f.flipped = trial % 2 == 1;
    f.window_width = 256;
    // An asymmetric shape (a flip that is not undone shows).
    std::vector<double> image_xy;
    const double cx = (f.offset_x + 128) / f.scale;
    const double cy = (f.offset_y + 128) / f.scale;
    const double r = 60 / f.scale;
    for (int k = 0; k < 7; ++k) {
      const double rr = r * (0.4 + 0.6 * u(rng));
      image_xy.push_back(cx + rr * std::cos(k * 2 * M_PI / 7));
      image_xy.push_back(cy + rr * std::sin(k * 2 * M_PI / 7));
    }
    std::vector<double> chip_xy = image_xy;
    for (size_t k = 0; k < chip_xy.size(); k += 2) {
      chip_xy[k] = chip_xy[k] * f.scale - f.offset_x;
      if (f.flipped) chip_xy[k] = f.window_width - chip_xy[k];
      chip_xy[k + 1] = chip_xy[k + 1] * f.scale - f.offset_y;
    }
    Segmentation in_image, in_chip;
    in_image.AddPolygon(image_xy);
    in_chip.AddPolygon(chip_xy);
    const RoiBox roi{60 + 30 * u(rng), 50 + 30 * u(rng), 170 + 30 * u(rng),
                     180 + 30 * u(rng)};
    const std::vector<uint8_t> got = ChipMaskTarget(in_image, f, roi, 28);
    const std::vector<uint8_t> want = MaskTarget(in_chip, roi, 28);
    // Equal but for cells whose centres sit on an edge (rounding).
    EXPECT_GE(Agreement(got, want), 0.99) << "trial " << trial;
    int set = 0;
    for (uint8_t v : got) set += v;
    EXPECT_GT(set, 50) << "trial " << trial;
  }
}

TEST(RoiTargetTest, FlippedChipTargetIsTheMirrorImage) {
  Segmentation s;  // a right triangle: left column full, right one empty
  s.AddPolygon(std::vector<double>{100, 100, 164, 164, 100, 164});
  ChipFrame f;
  f.scale = 2.0;
  f.offset_x = 100;
  f.offset_y = 100;
  f.window_width = 256;
  const RoiBox plain{100, 100, 228, 228};  // the triangle's box, unflipped
  const std::vector<uint8_t> a = ChipMaskTarget(s, f, plain, 16);
  f.flipped = true;
  const RoiBox mirrored{256 - 228, 100, 256 - 100, 228};
  const std::vector<uint8_t> b = ChipMaskTarget(s, f, mirrored, 16);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      ASSERT_EQ(a[i * 16 + j], b[i * 16 + 15 - j]) << i << " " << j;
    }
  }
  EXPECT_EQ(a[15 * 16 + 0], 1);   // bottom-left set
  EXPECT_EQ(a[0 * 16 + 15], 0);   // top-right clear
  EXPECT_EQ(b[15 * 16 + 15], 1);  // mirrored: bottom-right set
}

TEST(RoiTargetTest, NoSegmentationIsAnEmptyTarget) {
  const std::vector<uint8_t> t =
      MaskTarget(Segmentation{}, RoiBox{0, 0, 5, 5}, 7);
  EXPECT_EQ(t, std::vector<uint8_t>(49, 0));
}

}  // namespace
}  // namespace sniper::masks
