#include "inference/views.h"

#include <cstring>
#include <random>
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

// A window grows to its canvas about its centre, stays inside the image and
// never shrinks; one as large as the image (or wider) keeps its sides.
TEST(GrowToCanvasTest, FillsTheCanvasInsideTheImage) {
  // 100 x 40 at (300, 200) in 1000 x 700: 128 x 128, centred.
  EXPECT_EQ(GrowToCanvas({300, 200, 400, 240}, 128, 1000, 700),
            (data::Chip{286, 156, 414, 284}));
  // Near the corner: shifted inside.
  EXPECT_EQ(GrowToCanvas({0, 690, 10, 700}, 128, 1000, 700),
            (data::Chip{0, 572, 128, 700}));
  // Sides already multiples: unchanged.
  EXPECT_EQ(GrowToCanvas({64, 64, 320, 192}, 128, 1000, 700),
            (data::Chip{64, 64, 320, 192}));
  // The image narrower than the canvas: the whole image's width.
  EXPECT_EQ(GrowToCanvas({10, 10, 90, 50}, 128, 100, 700),
            (data::Chip{0, 0, 100, 128}));
  // Random windows: inside, containing the original, canvas-sized.
  std::mt19937 rng(7);
  for (int k = 0; k < 1000; ++k) {
    const int32_t W = 32 + rng() % 1000, H = 32 + rng() % 1000;
    const int32_t x1 = rng() % W, y1 = rng() % H;
    const data::Chip w{x1, y1, x1 + 1 + static_cast<int32_t>(rng() % (W - x1)),
                       y1 + 1 + static_cast<int32_t>(rng() % (H - y1))};
    for (const int32_t m : {32, 128}) {
      const data::Chip g = GrowToCanvas(w, m, W, H);
      ASSERT_GE(g.x1, 0);
      ASSERT_GE(g.y1, 0);
      ASSERT_LE(g.x2, W);
      ASSERT_LE(g.y2, H);
      ASSERT_LE(g.x1, w.x1);
      ASSERT_LE(g.y1, w.y1);
      ASSERT_GE(g.x2, w.x2);
      ASSERT_GE(g.y2, w.y2);
      const int32_t cw = (w.x2 - w.x1 + m - 1) / m * m;
      const int32_t ch = (w.y2 - w.y1 + m - 1) / m * m;
      ASSERT_EQ(g.x2 - g.x1, std::min(cw, W));
      ASSERT_EQ(g.y2 - g.y1, std::min(ch, H));
    }
  }
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
        for (const int32_t multiple : {32, 128}) {
          absl::StatusOr<ScaledView> v =
              RenderView(image, at, s, w, data::ChipRenderOptions{}, multiple);
          ASSERT_TRUE(v.ok()) << v.status();
          // The canvas: the window's sides rounded up to the multiple.
          EXPECT_EQ(v->pixels.size(3),
                    (w.x2 - w.x1 + multiple - 1) / multiple * multiple);
          EXPECT_EQ(v->pixels.size(2),
                    (w.y2 - w.y1 + multiple - 1) / multiple * multiple);
          data::ChipRenderOptions render;
          render.canvas_width = static_cast<int32_t>(v->pixels.size(3));
          render.canvas_height = static_cast<int32_t>(v->pixels.size(2));
          render.chip_size =
              std::max(render.canvas_width, render.canvas_height);
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
