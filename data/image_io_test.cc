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

}  // namespace
}  // namespace sniper::data
