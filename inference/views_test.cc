#include "inference/views.h"

#include <cstring>
#include <string>
#include <vector>

#include "data/chip_loader.h"
#include "data/chip_sampler.h"
#include "data/chip_sampler_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/small_detector.h"
#include "port/status_matchers.h"

namespace sniper::inference {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

data::ImageAtScale At(int w, int h) {
  data::ImageAtScale at;
  at.scaled_width = w;
  at.scaled_height = h;
  return at;
}

TEST(ViewWindowsTest, WholeImageUnlessTooLarge) {
  auto w = ViewWindows(At(1000, 700), 0, 0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], (data::Chip{0, 0, 1000, 700}));
  EXPECT_EQ(ViewWindows(At(1000, 700), 1024, 128).size(), 1u);
}

TEST(ViewWindowsTest, TilesCoverWithOverlap) {
  const int W = 8000, H = 5000, tile = 2048, overlap = 256;
  const auto tiles = ViewWindows(At(W, H), tile, overlap);
  ASSERT_GT(tiles.size(), 1u);
  std::vector<uint8_t> covered(static_cast<size_t>(W / 8) * (H / 8), 0);
  for (const data::Chip& t : tiles) {
    EXPECT_GE(t.x1, 0);
    EXPECT_GE(t.y1, 0);
    EXPECT_LE(t.x2, W);
    EXPECT_LE(t.y2, H);
    EXPECT_LE(t.x2 - t.x1, tile);
    EXPECT_LE(t.y2 - t.y1, tile);
    for (int y = t.y1 / 8; y < t.y2 / 8; ++y) {
      for (int x = t.x1 / 8; x < t.x2 / 8; ++x) covered[y * (W / 8) + x] = 1;
    }
  }
  for (uint8_t c : covered) ASSERT_EQ(c, 1);
  // Neighbours overlap by at least `overlap` pixels.
  int max_gap_x = 0;
  for (const data::Chip& a : tiles) {
    for (const data::Chip& b : tiles) {
      if (a.y1 == b.y1 && b.x1 > a.x1 && b.x1 < a.x2) {
        EXPECT_GE(a.x2 - b.x1, overlap);
        max_gap_x = std::max(max_gap_x, a.x2 - b.x1);
      }
    }
  }
  EXPECT_GE(max_gap_x, overlap);
}

// A view renders exactly the pixels the training loader renders for the
// same window of the same image at the same scale (whole image and a
// window inside it), from the file alone.
TEST(RenderViewTest, SamePixelsAsTheLoadersChip) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds) + "/images";
  data::ChipSamplerConfig config = testing::LongSides({480, 200});
  config.set_mode(data::ChipSamplerConfig::WHOLE_IMAGE);
  absl::StatusOr<data::ChipSamplerOptions> so =
      data::BuildChipSamplerOptions(config, "S");
  ASSERT_TRUE(so.ok()) << so.status();
  const data::ChipSampler sampler(*so);
  for (size_t i = 0; i < ds.num_images(); ++i) {
    const ImageSource image = ImageOf(ds, dir, i);
    EXPECT_EQ(image.path, dir + "/" + ds.image(i).file_name);
    EXPECT_EQ(image.ground_truth.size(), ds.boxes_of(i).size());
    for (int s = 0; s < 2; ++s) {
      const data::ImageAtScale at =
          data::MakeImageAtScale(*so, s, image.width, image.height, so->stride);
      for (const data::Chip& w :
           {data::Chip{0, 0, at.scaled_width, at.scaled_height},
            data::Chip{7, 5, at.scaled_width / 2, at.scaled_height - 3}}) {
        absl::StatusOr<ScaledView> v =
            RenderView(image, at, s, w, data::ChipRenderOptions{});
        ASSERT_TRUE(v.ok()) << v.status();
        data::ChipRenderOptions render;
        render.canvas_width = static_cast<int32_t>(v->pixels.size(3));
        render.canvas_height = static_cast<int32_t>(v->pixels.size(2));
        render.chip_size = std::max(render.canvas_width, render.canvas_height);
        render.layout = data::ChipLayout::kChwFloat32;
        const torch::Tensor expected = torch::empty_like(v->pixels);
        data::ChipRecord record;
        record.image_index = static_cast<uint32_t>(i);
        record.scale_index = static_cast<uint16_t>(s);
        record.chip = w;
        data::ChipLabels labels;
        data::ChipLoadStats stats;
        ASSERT_TRUE(data::LoadChip(ds, dir, sampler, record, false, render,
                                   expected.data_ptr(), &labels, &stats)
                        .ok());
        EXPECT_EQ(std::memcmp(expected.data_ptr(), v->pixels.data_ptr(),
                              expected.numel() * sizeof(float)),
                  0)
            << "image " << i << " scale " << s;
        EXPECT_EQ(v->window, w);
        EXPECT_EQ(v->scale_index, s);
      }
    }
  }
}

TEST(ImageOfFileTest, SizeFromTheFileAndErrorsNamingIt) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds) + "/images";
  const std::string path = dir + "/" + ds.image(0).file_name;
  absl::StatusOr<ImageSource> image = ImageOfFile(path);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, ds.image(0).width);
  EXPECT_EQ(image->height, ds.image(0).height);
  EXPECT_TRUE(image->ground_truth.empty());
  EXPECT_THAT(ImageOfFile(dir + "/missing.jpg").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.jpg")));
  // A size that disagrees with the file is named.
  ImageSource wrong = *image;
  wrong.width += 1;
  EXPECT_THAT(DecodeImage(wrong, data::DecodeRequest{}).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

}  // namespace
}  // namespace sniper::inference
