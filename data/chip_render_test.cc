#include "data/chip_render.h"

#include <cmath>
#include <string>

#include "data/image_io.h"
#include "data/testing/test_images.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::data::testing::EncodeJpeg;
using ::sniper::data::testing::RandomImage;

// The definition: bilinear sample of the decoded region at the output
// pixel's centre, half-pixel convention, edges clamped.
double RefPixel(const DecodedRegion& r, const Chip& chip, double scale,
                int32_t u, int32_t v, int c) {
  auto coord = [&](int32_t start, int32_t k, int32_t off, int32_t size) {
    double x = (start + k + 0.5) / scale * r.factor - 0.5 - off;
    return std::clamp(x, 0.0, size - 1.0);
  };
  const double x = coord(chip.x1, u, r.offset_x, r.image.width);
  const double y = coord(chip.y1, v, r.offset_y, r.image.height);
  const int32_t x0 = static_cast<int32_t>(x), y0 = static_cast<int32_t>(y);
  const int32_t x1 = std::min(x0 + 1, r.image.width - 1);
  const int32_t y1 = std::min(y0 + 1, r.image.height - 1);
  auto px = [&](int32_t xx, int32_t yy) {
    return static_cast<double>(
        r.image.pixels[(static_cast<size_t>(yy) * r.image.width + xx) * 3 + c]);
  };
  const double fx = x - x0, fy = y - y0;
  return (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x1, y0)) +
         fy * ((1 - fx) * px(x0, y1) + fx * px(x1, y1));
}

TEST(ChipRenderTest, MatchesBilinearDefinition) {
  DecodedRegion r;
  r.image = RandomImage(97, 61, 1);
  r.factor = 0.5;  // as if decoded at DCT scale 1/2
  r.offset_x = 7;
  r.offset_y = 3;
  ChipRenderOptions o;
  o.chip_size = 64;
  for (float& m : o.mean) m = 0;
  for (float& s : o.std) s = 1;
  struct Case {
    Chip chip;
    double scale;
  };
  for (const Case& k : {Case{{10, 8, 74, 72}, 0.9}, Case{{0, 0, 40, 30}, 0.3},
                        Case{{30, 20, 94, 84}, 2.7}}) {
    std::vector<float> out(3 * 64 * 64);
    RenderChip(r, k.chip, k.scale, false, o, out.data());
    const int32_t cw = std::min(64, k.chip.x2 - k.chip.x1);
    const int32_t ch = std::min(64, k.chip.y2 - k.chip.y1);
    for (int c = 0; c < 3; ++c) {
      for (int32_t v = 0; v < 64; ++v) {
        for (int32_t u = 0; u < 64; ++u) {
          const float got = out[(c * 64 + v) * 64 + u];
          const double want =
              (u < cw && v < ch) ? RefPixel(r, k.chip, k.scale, u, v, c) : 0.0;
          ASSERT_NEAR(got, want, 1e-3) << c << " " << u << "," << v;
        }
      }
    }
    // Flip mirrors the window; padding stays right.
    std::vector<float> flipped(3 * 64 * 64);
    RenderChip(r, k.chip, k.scale, true, o, flipped.data());
    for (int32_t v = 0; v < ch; ++v) {
      for (int32_t u = 0; u < cw; ++u) {
        ASSERT_NEAR(flipped[v * 64 + u], out[v * 64 + (cw - 1 - u)], 1e-4);
      }
    }
  }
}

TEST(ChipRenderTest, BoxesFollowThePixels) {
  // A white rectangle on black; after decode, scale 1.7, crop and flip, the
  // transformed box must sit on white pixels and its surroundings be black.
  RgbImage im;
  im.width = 400;
  im.height = 300;
  im.pixels.assign(400 * 300 * 3, 0);
  const BoxXYWH obj{120, 70, 80, 50};
  for (int y = 70; y < 120; ++y) {
    for (int x = 120; x < 200; ++x) {
      for (int c = 0; c < 3; ++c) im.pixels[(y * 400 + x) * 3 + c] = 255;
    }
  }
  const std::string jpeg = EncodeJpeg(im);
  ChipSamplerOptions so;
  ScaleSpec spec;
  spec.factor = 1.7;
  so.scales = {spec};
  const ImageAtScale at = MakeImageAtScale(so, 0, 400, 300, 32);
  const Chip chip{100, 60, 612, 510};  // window 512x450 of the 680x510 image
  for (bool flip : {false, true}) {
    DecodeRequest req;
    req.scale = at.scale;
    req.x0 = static_cast<int32_t>(chip.x1 / at.scale);
    req.y0 = static_cast<int32_t>(chip.y1 / at.scale);
    req.x1 = static_cast<int32_t>(std::ceil(chip.x2 / at.scale));
    req.y1 = static_cast<int32_t>(std::ceil(chip.y2 / at.scale));
    ASSERT_OK_AND_ASSIGN(DecodedRegion r, DecodeImageRegion(jpeg, "rect", req));
    ChipRenderOptions o;
    o.layout = ChipLayout::kHwcUint8;
    std::vector<uint8_t> out(ChipCanvasBytes(o));
    RenderChip(r, chip, at.scale, flip, o, out.data());
    ChipLabels labels;
    AssignChipLabels(so, 0, at, chip, {&obj, 1}, std::vector<int32_t>{0},
                     std::vector<uint8_t>{0}, &labels);
    ASSERT_EQ(labels.boxes.size(), 1u);
    if (flip) FlipBoxes(&labels.boxes, static_cast<float>(chip.x2 - chip.x1));
    const Box b = labels.boxes[0];
    auto pixel = [&](int x, int y) { return out[(y * 512 + x) * 3]; };
    int inside_dark = 0, outside_bright = 0;
    for (int y = 0; y < 450; ++y) {
      for (int x = 0; x < 512; ++x) {
        const bool in =
            x >= b.x1 + 2 && x < b.x2 - 2 && y >= b.y1 + 2 && y < b.y2 - 2;
        const bool out_ring =
            x < b.x1 - 3 || x >= b.x2 + 3 || y < b.y1 - 3 || y >= b.y2 + 3;
        if (in && pixel(x, y) < 200) ++inside_dark;
        if (out_ring && pixel(x, y) > 60) ++outside_bright;
      }
    }
    EXPECT_EQ(inside_dark, 0) << "flip=" << flip;
    EXPECT_EQ(outside_bright, 0) << "flip=" << flip;
  }
}

}  // namespace
}  // namespace sniper::data
