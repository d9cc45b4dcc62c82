#include "data/chips.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <tuple>

#include "data/chip_sampler.h"
#include "data/chip_sampler_builder.h"
#include "data/testing/naive_chips.h"
#include "data/testing/random_dataset.h"
#include "data/testing/sampler_options.h"
#include "data/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::OneFactorScale;
using ::sniper::testing::ThreeScales;

TEST(ChipsTest, ComputeScaleFollowsEachKind) {
  ChipSamplerOptions o = ThreeScales();
  EXPECT_DOUBLE_EQ(ComputeScale(o.scales[0], 640, 480), 1400.0 / 480);
  // Long side would be 7000 > 2000: limited by the long side.
  EXPECT_DOUBLE_EQ(ComputeScale(o.scales[0], 1000, 200), 2.0);
  EXPECT_DOUBLE_EQ(ComputeScale(o.scales[2], 640, 480), 0.8);
  EXPECT_DOUBLE_EQ(ComputeScale(o.scales[2], 300, 1024), 0.5);
  EXPECT_DOUBLE_EQ(ComputeScale(OneFactorScale(1.667).scales[0], 1, 1), 1.667);
  EXPECT_EQ(ScaledSide(640, 1400.0 / 480), 1867);
  EXPECT_EQ(ScaledSide(3, 0.1), 1);
}

TEST(ChipsTest, CandidatePositionsAddFlushWindow) {
  std::vector<int32_t> p;
  EXPECT_EQ(CandidatePositions(1000, 512, 32, &p), 512);
  ASSERT_EQ(p.size(), 17u);  // 0, 32, ..., 480, then 488 flush
  EXPECT_EQ(p[15], 480);
  EXPECT_EQ(p.back(), 488);
  EXPECT_EQ(CandidatePositions(400, 512, 32, &p), 400);
  EXPECT_THAT(p, ::testing::ElementsAre(0));
  EXPECT_EQ(CandidatePositions(544, 512, 32, &p), 512);
  EXPECT_THAT(p, ::testing::ElementsAre(0, 32));
}

TEST(ChipsTest, FitRuleDependsOnChipAndImage) {
  ChipSamplerOptions o = OneFactorScale(1.0);
  const ImageAtScale big = MakeImageAtScale(o, 0, 1000, 1000, 32);
  // chip 512, stride 32: largest box 512 - 32 - 1 = 479.
  EXPECT_TRUE(IsValidAtScale(o, 0, big, {0, 0, 479, 10}));
  EXPECT_FALSE(IsValidAtScale(o, 0, big, {0, 0, 480, 10}));
  o.stride_jitter = 3;
  EXPECT_FALSE(IsValidAtScale(o, 0, big, {0, 0, 477, 10}));
  // The whole image fits one chip: every box fits.
  const ImageAtScale small = MakeImageAtScale(o, 0, 500, 400, 32);
  EXPECT_TRUE(IsValidAtScale(o, 0, small, {0, 0, 500, 400}));
  // Range is on sqrt(area) in original pixels, [min, max).
  o.scales[0].valid_min = 10;
  o.scales[0].valid_max = 20;
  EXPECT_TRUE(IsValidAtScale(o, 0, big, {0, 0, 10, 10}));
  EXPECT_FALSE(IsValidAtScale(o, 0, big, {0, 0, 20, 20}));
  EXPECT_FALSE(IsValidAtScale(o, 0, big, {0, 0, 5, 5}));
  EXPECT_FALSE(IsValidAtScale(o, 0, big, {5, 5, 5, 30}));  // zero width
}

TEST(ChipsTest, HandWorkedGreedyCover) {
  ChipSamplerOptions o = OneFactorScale(1.0);
  const ImageAtScale image = MakeImageAtScale(o, 0, 1000, 800, 32);
  GreedyChipCover cover;
  std::vector<Chip> chips;
  // Three boxes that fit one chip together and one far away: 2 chips, the
  // first covering three boxes.
  const std::vector<Box> boxes = {{10, 10, 50, 50},
                                  {100, 100, 200, 200},
                                  {400, 300, 500, 500},
                                  {900, 700, 990, 790}};
  std::vector<int32_t> counts;
  EXPECT_EQ(cover.Cover(image, 512, boxes, 7, 0, &chips, &counts), 0);
  ASSERT_EQ(chips.size(), 2u);
  EXPECT_THAT(counts, ::testing::ElementsAre(3, 1));
  for (const Box& b : boxes) {
    EXPECT_TRUE(chips[0].Contains(b) || chips[1].Contains(b));
  }
  // The far box forces the flush corner region: x1 >= 990 - 512.
  EXPECT_GE(chips[1].x1, 990 - 512);
  EXPECT_LE(chips[1].x2, 1000);
  EXPECT_EQ(chips[1].x2 - chips[1].x1, 512);
  // No boxes: no chips.
  chips.clear();
  EXPECT_EQ(cover.Cover(image, 512, {}, 7, 0, &chips), 0);
  EXPECT_TRUE(chips.empty());
}

TEST(ChipsTest, SmallImageGivesOneChipSpanningIt) {
  ChipSamplerOptions o = ThreeScales();
  // 640x480 at the coarse scale is 512x384: one chip holding the image.
  const ImageAtScale image = MakeImageAtScale(o, 2, 640, 480, 32);
  EXPECT_EQ(image.scaled_width, 512);
  EXPECT_EQ(image.scaled_height, 384);
  GreedyChipCover cover;
  std::vector<Chip> chips;
  const Box huge = ScaleAndClip({0, 0, 640, 480}, image);
  ASSERT_TRUE(IsValidAtScale(o, 2, image, {0, 0, 640, 480}));
  cover.Cover(image, 512, {huge, ScaleAndClip({300, 200, 500, 400}, image)}, 1,
              0, &chips);
  ASSERT_EQ(chips.size(), 1u);
  EXPECT_EQ(chips[0], (Chip{0, 0, 512, 384}));
}

TEST(ChipsTest, MinCountStopsNegativeCover) {
  ChipSamplerOptions o = OneFactorScale(1.0);
  const ImageAtScale image = MakeImageAtScale(o, 0, 2000, 600, 32);
  std::vector<Box> boxes;
  for (int i = 0; i < 5; ++i) boxes.push_back({10.f + i, 10, 60.f + i, 60});
  for (int i = 0; i < 2; ++i) boxes.push_back({1500.f + i, 10, 1560.f + i, 60});
  GreedyChipCover cover;
  std::vector<Chip> chips;
  std::vector<int32_t> counts;
  cover.Cover(image, 512, boxes, 3, /*min_count=*/2, &chips, &counts);
  ASSERT_EQ(chips.size(), 1u);  // the group of 2 is not enough (needs > 2)
  EXPECT_EQ(counts[0], 5);
}

TEST(ChipsTest, LabelsSplitValidIgnoredAndDropped) {
  ChipSamplerOptions o = OneFactorScale(1.0);
  o.scales[0].valid_max = 100;
  const ImageAtScale image = MakeImageAtScale(o, 0, 1000, 1000, 32);
  const Chip chip{100, 100, 612, 612};
  const std::vector<BoxXYWH> boxes = {
      {150, 150, 50, 50},    // valid, inside
      {580, 200, 60, 60},    // in range but cut by the border: ignore
      {200, 200, 300, 300},  // out of range (300 px): ignore
      {300, 300, 40, 40},    // crowd: ignore
      {611, 300, 40, 40},    // overlaps by 1 px: dropped
      {700, 700, 40, 40},    // outside the chip: nothing
      {400, 400, 30, 30},    // valid, inside
  };
  const std::vector<int32_t> labels = {4, 5, 6, 7, 8, 9, 3};
  const std::vector<uint8_t> crowd = {0, 0, 0, 1, 0, 0, 0};
  ChipLabels out;
  AssignChipLabels(o, 0, image, chip, boxes, labels, crowd, &out);
  ASSERT_EQ(out.boxes.size(), 2u);
  EXPECT_THAT(out.labels, ::testing::ElementsAre(4, 3));
  // Each valid box remembers its annotation (its segmentation's index).
  EXPECT_THAT(out.box_index, ::testing::ElementsAre(0, 6));
  EXPECT_DOUBLE_EQ(out.scale, image.scale);
  EXPECT_FLOAT_EQ(out.boxes[0].x1, 50);
  EXPECT_FLOAT_EQ(out.boxes[0].x2, 100);
  ASSERT_EQ(out.ignore.size(), 3u);
  EXPECT_FLOAT_EQ(out.ignore[0].x1, 480);
  EXPECT_FLOAT_EQ(out.ignore[0].x2, 512);  // clipped to the chip
  EXPECT_EQ(out.dropped, 1);
  // Which ignore regions are crowd regions (focus labels need it).
  EXPECT_THAT(out.ignore_crowd, ::testing::ElementsAre(0, 0, 1));
  // With crowd_as_ignore off, crowd boxes vanish.
  o.crowd_as_ignore = false;
  AssignChipLabels(o, 0, image, chip, boxes, labels, crowd, &out);
  EXPECT_EQ(out.ignore.size(), 2u);
  EXPECT_THAT(out.ignore_crowd, ::testing::ElementsAre(0, 0));
}

using ::sniper::testing::DatasetOf;
using ::sniper::testing::MakeRandomImage;
using ::sniper::testing::RandomImage;
using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ChipsPropertyTest, GreedyMatchesNaiveReference) {
  std::mt19937 rng(1234);
  ChipSamplerOptions o = ThreeScales();
  GreedyChipCover cover;
  int compared = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const RandomImage im = MakeRandomImage(rng);
    for (int s = 0; s < 3; ++s) {
      const int32_t stride = 32 + trial % 4 * 9;
      o.stride = stride;
      const ImageAtScale image =
          MakeImageAtScale(o, s, im.width, im.height, stride);
      std::vector<Box> scaled;
      for (const BoxXYWH& b : im.boxes) {
        scaled.push_back(ScaleAndClip(ToCorners(b), image));
      }
      // Every box, valid or not, so some are uncoverable; and a min count.
      for (int min_count : {0, 2}) {
        std::vector<Chip> fast;
        cover.Cover(image, 512, scaled, trial * 7 + s, min_count, &fast);
        const std::vector<Chip> naive = sniper::testing::NaiveGreedyCover(
            image, 512, scaled, trial * 7 + s, min_count);
        ASSERT_EQ(fast, naive) << "trial " << trial << " scale " << s;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 900);
}

TEST(ChipsPropertyTest, SamplerInvariantsOnRandomImages) {
  std::mt19937 rng(99);
  std::vector<RandomImage> images;
  for (int i = 0; i < 200; ++i) images.push_back(MakeRandomImage(rng));
  const CocoDataset ds = DatasetOf(images);
  ChipSamplerOptions o = ThreeScales();
  o.stride_jitter = 5;
  o.seed = 17;
  const ChipSampler sampler(o);
  CoverScratch cover;
  ImageChips chips, again;
  int64_t valid_total = 0, chips_total = 0;
  for (size_t i = 0; i < ds.num_images(); ++i) {
    sampler.GenerateImageChips(ds, i, nullptr, 3, &cover, &chips);
    sampler.GenerateImageChips(ds, i, nullptr, 3, &cover, &again);
    for (int s = 0; s < 3; ++s) {
      const auto& ps = chips.scales[s];
      const ImageAtScale& image = ps.image;
      EXPECT_EQ(ps.positives, again.scales[s].positives) << "determinism";
      EXPECT_EQ(ps.uncovered, 0);
      EXPECT_EQ(image.stride, sampler.StrideFor(3, i));
      // Every chip lies within the scaled image and has the chip size, or
      // spans the image along an axis smaller than a chip.
      for (const Chip& c : ps.positives) {
        EXPECT_GE(c.x1, 0);
        EXPECT_GE(c.y1, 0);
        EXPECT_LE(c.x2, image.scaled_width);
        EXPECT_LE(c.y2, image.scaled_height);
        EXPECT_EQ(c.x2 - c.x1, std::min(512, image.scaled_width));
        EXPECT_EQ(c.y2 - c.y1, std::min(512, image.scaled_height));
      }
      // Every valid box is inside at least one positive chip.
      for (const Box& b : ps.valid_boxes) {
        bool inside = false;
        for (const Chip& c : ps.positives) inside = inside || c.Contains(b);
        EXPECT_TRUE(inside) << "image " << i << " scale " << s;
      }
      // Greedy never returns a chip that covers no new box.
      std::vector<bool> covered(ps.valid_boxes.size(), false);
      for (const Chip& c : ps.positives) {
        int fresh = 0;
        for (size_t k = 0; k < ps.valid_boxes.size(); ++k) {
          if (!covered[k] && c.Contains(ps.valid_boxes[k])) {
            covered[k] = true;
            ++fresh;
          }
        }
        EXPECT_GT(fresh, 0);
      }
      valid_total += ps.valid_boxes.size();
      chips_total += ps.positives.size();
      // Invalid boxes never become valid: labels recomputed independently.
      const double sc = image.scale;
      ChipLabels labels;
      for (const Chip& c : ps.positives) {
        AssignChipLabels(o, s, image, c, ds.boxes_of(i), ds.labels_of(i),
                         ds.crowd_of(i), &labels);
        int expected_valid = 0;
        for (size_t k = 0; k < ds.boxes_of(i).size(); ++k) {
          const BoxXYWH& b = ds.boxes_of(i)[k];
          const double size = std::sqrt(double{b.w} * b.h);
          const bool in_range =
              size >= o.scales[s].valid_min && size < o.scales[s].valid_max;
          const double limit = 512 - o.max_stride() - 1;
          const bool fits = (image.scaled_width <= 512 || b.w * sc <= limit) &&
                            (image.scaled_height <= 512 || b.h * sc <= limit);
          // Scaled, then clipped to the scaled image (whose side is rounded).
          const double W = image.scaled_width, H = image.scaled_height;
          const double x1 = std::clamp(b.x * sc, 0.0, W);
          const double y1 = std::clamp(b.y * sc, 0.0, H);
          const double x2 = std::clamp((b.x + b.w) * sc, 0.0, W);
          const double y2 = std::clamp((b.y + b.h) * sc, 0.0, H);
          const bool inside =
              x1 >= c.x1 && y1 >= c.y1 && x2 <= c.x2 && y2 <= c.y2;
          const bool big_enough = x2 - x1 >= 2 && y2 - y1 >= 2;
          if (!ds.crowd_of(i)[k] && in_range && fits && inside && big_enough) {
            ++expected_valid;
          }
        }
        EXPECT_EQ(static_cast<int>(labels.boxes.size()), expected_valid);
        for (const Box& b : labels.boxes) {
          EXPECT_GE(b.x1, 0);
          EXPECT_LE(b.x2, c.x2 - c.x1);
        }
      }
    }
  }
  EXPECT_GT(valid_total, 1000);
  EXPECT_GT(chips_total, 200);
}

TEST(ChipsPropertyTest, SeedAndEpochChangeTieOrderOnly) {
  std::mt19937 rng(5);
  std::vector<RandomImage> images;
  for (int i = 0; i < 100; ++i) images.push_back(MakeRandomImage(rng));
  const CocoDataset ds = DatasetOf(images);
  ChipSamplerOptions o = ThreeScales();
  o.shuffle = false;
  const auto a = ChipSampler(o).Epoch(ds, nullptr, 0);
  const auto b = ChipSampler(o).Epoch(ds, nullptr, 0);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) ASSERT_EQ(a[k].chip, b[k].chip);
  o.seed = 1;
  const auto c = ChipSampler(o).Epoch(ds, nullptr, 0);
  bool differs = c.size() != a.size();
  for (size_t k = 0; !differs && k < a.size(); ++k) {
    differs = !(a[k].chip == c[k].chip);
  }
  EXPECT_TRUE(differs) << "a new seed must change some tie decision";
  // Shuffling permutes the same multiset of chips.
  o.seed = 0;
  o.shuffle = true;
  const auto d = ChipSampler(o).Epoch(ds, nullptr, 0);
  ASSERT_EQ(d.size(), a.size());
  auto key = [](const ChipRecord& r) {
    return std::make_tuple(r.image_index, r.scale_index, r.chip.x1, r.chip.y1,
                           r.chip.x2, r.chip.y2);
  };
  std::multiset<decltype(key(a[0]))> ka, kd;
  for (const auto& r : a) ka.insert(key(r));
  for (const auto& r : d) kd.insert(key(r));
  EXPECT_EQ(ka, kd);
  bool moved = false;
  for (size_t k = 0; k < a.size(); ++k) moved = moved || key(a[k]) != key(d[k]);
  EXPECT_TRUE(moved);
}

}  // namespace
}  // namespace sniper::data
