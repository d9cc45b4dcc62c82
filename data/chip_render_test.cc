#include "data/chip_render.h"

#include <turbojpeg.h>

#include <cmath>
#include <random>
#include <string>

#include "data/image_decode.h"
#include "data/image_io.h"
#include "data/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

RgbImage RandomImage(int32_t w, int32_t h, uint32_t seed) {
  std::mt19937 rng(seed);
  RgbImage im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (auto& p : im.pixels) p = static_cast<uint8_t>(rng() % 256);
  return im;
}

std::string EncodeJpeg(const RgbImage& im, int quality = 95) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(tj, im.pixels.data(), im.width, 0, im.height, TJPF_RGB,
                        &buf, &size, TJSAMP_444, quality, TJFLAG_ACCURATEDCT),
            0);
  std::string out(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

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

TEST(ImageDecodeTest, ReducedDecodeMatchesFullDecode) {
  // A smooth image (DCT scaling is exact on low frequencies) at scales that
  // pick 1/8, 1/2 and full decoding with a region.
  RgbImage im;
  im.width = 640;
  im.height = 480;
  im.pixels.resize(640 * 480 * 3);
  for (int y = 0; y < 480; ++y) {
    for (int x = 0; x < 640; ++x) {
      im.pixels[(y * 640 + x) * 3] =
          static_cast<uint8_t>(128 + 100 * std::sin(x / 40.0));
      im.pixels[(y * 640 + x) * 3 + 1] =
          static_cast<uint8_t>(128 + 100 * std::cos(y / 30.0));
      im.pixels[(y * 640 + x) * 3 + 2] = static_cast<uint8_t>((x + y) / 5);
    }
  }
  const std::string jpeg = EncodeJpeg(im, 98);
  ChipRenderOptions o;
  o.chip_size = 256;
  o.layout = ChipLayout::kHwcUint8;
  struct Case {
    double scale;
    Chip chip;
    int dct;
  };
  for (const Case& k :
       {Case{0.2, {0, 0, 128, 96}, 2}, Case{0.5, {20, 10, 276, 240}, 4},
        Case{3.0, {900, 600, 1156, 856}, 8}}) {
    EXPECT_EQ(DctScaleNumerator(k.scale), k.dct);
    DecodeRequest full;
    full.reduce = false;
    DecodeRequest reduced;
    reduced.scale = k.scale;
    reduced.x0 = static_cast<int32_t>(k.chip.x1 / k.scale);
    reduced.y0 = static_cast<int32_t>(k.chip.y1 / k.scale);
    reduced.x1 = static_cast<int32_t>(std::ceil(k.chip.x2 / k.scale));
    reduced.y1 = static_cast<int32_t>(std::ceil(k.chip.y2 / k.scale));
    ASSERT_OK_AND_ASSIGN(DecodedRegion a, DecodeImageRegion(jpeg, "s", full));
    ASSERT_OK_AND_ASSIGN(DecodedRegion b,
                         DecodeImageRegion(jpeg, "s", reduced));
    EXPECT_LT(b.decoded_pixels, a.decoded_pixels / 3) << k.scale;
    std::vector<uint8_t> oa(ChipCanvasBytes(o)), ob(ChipCanvasBytes(o));
    RenderChip(a, k.chip, k.scale, false, o, oa.data());
    RenderChip(b, k.chip, k.scale, false, o, ob.data());
    double diff = 0;
    for (size_t i = 0; i < oa.size(); ++i) diff += std::abs(oa[i] - ob[i]);
    EXPECT_LT(diff / oa.size(), 2.0) << "scale " << k.scale;
  }
}

TEST(ImageDecodeTest, CorruptFilesGiveClearErrors) {
  const std::string dir = ::testing::TempDir();
  const std::string jpeg = EncodeJpeg(RandomImage(64, 48, 3), 90);
  EXPECT_THAT(
      DecodeImageRegion("", "zero.jpg", {}),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("zero.jpg: empty")));
  EXPECT_THAT(
      DecodeImageRegion(jpeg.substr(0, jpeg.size() / 2), "half.jpg", {}),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("half.jpg: corrupt JPEG")));
  EXPECT_THAT(
      DecodeImageRegion("GIF89a...", "x.jpg", {}),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("neither JPEG nor PNG")));
  EXPECT_THAT(DecodeImageFileRegion(dir + "/missing.jpg", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.jpg")));
  // A PNG named .jpg decodes by its signature.
  const std::string png_path = dir + "/really_png.jpg";
  ASSERT_OK(WritePngFile(png_path, RandomImage(30, 20, 4)));
  ASSERT_OK_AND_ASSIGN(DecodedRegion r, DecodeImageFileRegion(png_path, {}));
  EXPECT_EQ(r.image.width, 30);
  EXPECT_EQ(r.full_height, 20);
}

TEST(ImageDecodeTest, RealCocoJpegRegion) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/images/000000000139.jpg");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  DecodeRequest req;
  req.scale = 3.125;
  req.x0 = 100;
  req.y0 = 50;
  req.x1 = 264;
  req.y1 = 214;
  ASSERT_OK_AND_ASSIGN(DecodedRegion r, DecodeImageFileRegion(path, req));
  EXPECT_EQ(r.full_width, 640);
  EXPECT_EQ(r.full_height, 426);
  EXPECT_LE(r.offset_x, 99);
  EXPECT_GE(r.offset_x + r.image.width, 265);
  EXPECT_EQ(r.offset_y, 49);
  EXPECT_LT(r.decoded_pixels, 640 * 426 / 2);
}

}  // namespace
}  // namespace sniper::data
