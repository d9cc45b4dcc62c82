#include "data/image_io.h"

#include <png.h>

#include <string>

#include "data/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ImageIoTest, PngRoundTripThroughLibpng) {
  RgbImage image;
  image.width = 5;
  image.height = 3;
  image.pixels.resize(5 * 3 * 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = i * 7;
  const std::string path = std::string(::testing::TempDir()) + "/x.png";
  ASSERT_OK(WritePngFile(path, image));
  // Read back with libpng's simplified API.
  png_image back;
  memset(&back, 0, sizeof(back));
  back.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&back, path.c_str()));
  back.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(back));
  ASSERT_TRUE(png_image_finish_read(&back, nullptr, pixels.data(), 0, nullptr));
  EXPECT_EQ(back.width, 5u);
  EXPECT_EQ(back.height, 3u);
  EXPECT_EQ(pixels, image.pixels);
}

TEST(ImageIoTest, BadJpegsGiveClearErrors) {
  EXPECT_THAT(DecodeJpegFile("/no/such.jpg"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/such.jpg")));
  const std::string path = std::string(::testing::TempDir()) + "/bad.jpg";
  ASSERT_OK(WriteFileAtomically(path, "not a jpeg at all"));
  EXPECT_THAT(DecodeJpegFile(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad.jpg")));
}

TEST(ImageIoTest, DecodesRealCocoJpegAndDetectsTruncation) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/images/000000000139.jpg");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  ASSERT_OK_AND_ASSIGN(RgbImage image, DecodeJpegFile(path));
  EXPECT_EQ(image.width, 640);
  EXPECT_EQ(image.height, 426);
  std::string bytes;
  ASSERT_OK(ReadFileToString(path, &bytes));
  const std::string cut = std::string(::testing::TempDir()) + "/cut.jpg";
  ASSERT_OK(WriteFileAtomically(cut, bytes.substr(0, 200)));
  EXPECT_THAT(DecodeJpegFile(cut),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cut.jpg")));
}

}  // namespace
}  // namespace sniper::data
