// The one image reader: reduced decoding matches full decoding, corrupt
// and absurd files are refused naming the file (absurd declared sizes
// before any pixel buffer is allocated), a real COCO JPEG by region.
#include "data/image_decode.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/chip_render.h"
#include "data/image_io.h"
#include "data/testing/shared_data.h"
#include "data/testing/test_images.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::data::testing::EncodeJpeg;
using ::sniper::data::testing::RandomImage;
using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

// `jpeg` with its frame header (SOF0..SOF2) declaring `width` x `height`:
// what a hostile or damaged file looks like; the scan data stays as small
// as it was.
std::string WithDeclaredSize(std::string jpeg, uint16_t width,
                             uint16_t height) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(jpeg[k]); };
    if (b(i) == 0xFF && b(i + 1) >= 0xC0 && b(i + 1) <= 0xC2) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xFF);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no frame header";
  return jpeg;
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

TEST(ImageDecodeTest, AbsurdDeclaredSizeIsRefusedNamingFileAndSize) {
  const std::string jpeg =
      WithDeclaredSize(EncodeJpeg(RandomImage(16, 16, 5), 90), 65500, 65500);
  EXPECT_LT(jpeg.size(), 2000u);
  EXPECT_THAT(DecodeImageRegion(jpeg, "huge.jpg", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("huge.jpg: JPEG declares 65500x65500 = "
                                 "4290250000 pixels, more than the limit")));
  // 20000 x 20000 (the size that used to take 1.2 GB before failing).
  EXPECT_THAT(
      DecodeImageRegion(WithDeclaredSize(jpeg, 20000, 20000), "big.jpg", {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("20000x20000")));
  // The limit is the request's: a real PNG over a lowered limit.
  const std::string png = ::testing::TempDir() + "/small.png";
  ASSERT_OK(WritePngFile(png, RandomImage(30, 20, 4)));
  DecodeRequest tight;
  tight.max_pixels = 599;
  EXPECT_THAT(DecodeImageFileRegion(png, tight),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("PNG declares 30x20 = 600 pixels")));
  tight.max_pixels = 600;
  EXPECT_OK(DecodeImageFileRegion(png, tight).status());
  // Within the limit but truncated: the old corrupt-data error.
  EXPECT_THAT(
      DecodeImageRegion(WithDeclaredSize(jpeg, 4000, 3000), "t.jpg", {}),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.jpg")));
}

#if !defined(__SANITIZE_ADDRESS__)
// 0 when a whole-image decode of `jpeg` is refused as too big while the
// process has 1 GiB of address space.
int DecodeUnderOneGib(const std::string& jpeg) {
  const rlimit limit = {size_t{1} << 30, size_t{1} << 30};
  setrlimit(RLIMIT_AS, &limit);
  DecodeRequest whole;
  whole.reduce = false;
  return DecodeImageRegion(jpeg, "huge.jpg", whole).status().code() ==
                 absl::StatusCode::kInvalidArgument
             ? 0
             : 3;
}

TEST(ImageDecodeDeathTest, AbsurdDeclaredSizeAllocatesNothingBig) {
  // In a child with 1 GiB of address space: the refusal must come before
  // any allocation of the declared size (12.9 GB), or the child dies of
  // std::bad_alloc instead of exiting 0.
  const std::string jpeg =
      WithDeclaredSize(EncodeJpeg(RandomImage(16, 16, 5), 90), 65500, 65500);
  EXPECT_EXIT(std::exit(DecodeUnderOneGib(jpeg)), ::testing::ExitedWithCode(0),
              "");
}
#endif

TEST(ImageDecodeTest, DirectoryIsNotAnEmptyFile) {
  EXPECT_THAT(DecodeImageFileRegion(::testing::TempDir(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is a directory, not a file")));
}

TEST(ImageSizeTest, HeaderSizesMatchDecodedSizes) {
  const std::string dir = ::testing::TempDir();
  for (const auto& [w, h] : {std::pair{64, 48}, {17, 301}, {1, 1}}) {
    const RgbImage im = RandomImage(w, h, 7);
    ASSERT_OK_AND_ASSIGN(ImageSize j, ReadImageSize(EncodeJpeg(im), "a.jpg"));
    EXPECT_EQ(j.width, w);
    EXPECT_EQ(j.height, h);
    const std::string png = dir + "/size.png";
    ASSERT_OK(WritePngFile(png, im));
    ASSERT_OK_AND_ASSIGN(ImageSize p, ReadImageFileSize(png));
    EXPECT_EQ(p.width, w);
    EXPECT_EQ(p.height, h);
  }
  // A header declaring more than it holds is read as declared (nothing is
  // decoded) unless over the limit.
  const std::string jpeg = EncodeJpeg(RandomImage(16, 16, 5), 90);
  ASSERT_OK_AND_ASSIGN(ImageSize d,
                       ReadImageSize(WithDeclaredSize(jpeg, 4000, 3000), "d"));
  EXPECT_EQ(d.width, 4000);
  EXPECT_THAT(ReadImageSize(WithDeclaredSize(jpeg, 65500, 65500), "huge.jpg"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("huge.jpg: JPEG declares 65500x65500")));
}

TEST(ImageSizeTest, HeaderAfterLargeMetadataIsFound) {
  // An APP1 segment of 65000 bytes x 2 before the frame header: the size
  // lies past the first 64 KiB the file reader looks at.
  const std::string jpeg = EncodeJpeg(RandomImage(40, 30, 9), 90);
  std::string big = jpeg.substr(0, 2);
  for (int k = 0; k < 2; ++k) {
    big += "\xFF\xE1";
    big += static_cast<char>(65000 >> 8);
    big += static_cast<char>(65000 & 0xFF);
    big += std::string(65000 - 2, 'x');
  }
  big += jpeg.substr(2);
  const std::string path = ::testing::TempDir() + "/exif.jpg";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(big.data(), 1, big.size(), f);
    std::fclose(f);
  }
  ASSERT_OK_AND_ASSIGN(ImageSize s, ReadImageFileSize(path));
  EXPECT_EQ(s.width, 40);
  EXPECT_EQ(s.height, 30);
  ASSERT_OK_AND_ASSIGN(DecodedRegion r, DecodeImageFileRegion(path, {}));
  EXPECT_EQ(r.full_width, 40);
}

TEST(ImageSizeTest, BadHeadersNameTheFile) {
  const std::string jpeg = EncodeJpeg(RandomImage(16, 16, 5), 90);
  EXPECT_THAT(ReadImageSize("", "e.jpg"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("e.jpg: empty")));
  EXPECT_THAT(ReadImageSize(jpeg.substr(0, 20), "cut.jpg"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("cut.jpg: corrupt JPEG header")));
  EXPECT_THAT(ReadImageSize("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", "cut.png"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("cut.png: corrupt PNG header")));
  EXPECT_THAT(ReadImageSize("BM....", "x.bmp"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("x.bmp: neither JPEG nor PNG")));
  EXPECT_THAT(ReadImageFileSize(::testing::TempDir() + "/none.jpg"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.jpg")));
  EXPECT_THAT(ReadImageFileSize(::testing::TempDir()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is a directory")));
}

TEST(ImageSizeTest, RealCocoHeaders) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/images/000000000139.jpg");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  ASSERT_OK_AND_ASSIGN(ImageSize s, ReadImageFileSize(path));
  EXPECT_EQ(s.width, 640);
  EXPECT_EQ(s.height, 426);
}

}  // namespace
}  // namespace sniper::data
