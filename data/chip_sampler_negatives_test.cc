// Negative chips: mined from proposals outside the positive chips, sampled
// per epoch, shrunk with tight_negatives; proposals files checked against
// the sampler and the dataset.
#include <cstdint>
#include <vector>

#include "data/chip_sampler.h"
#include "data/chips.h"
#include "data/proposals.h"
#include "data/testing/random_dataset.h"
#include "data/testing/sampler_options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::DatasetOf;
using ::sniper::testing::OneFactorScale;
using ::sniper::testing::RandomImage;
using ::sniper::testing::StatusIs;
using ::sniper::testing::ThreeScales;
using ::testing::HasSubstr;

// One 1600x1600 image with one 40 px box at (20, 20).
CocoDataset OneBoxTopLeft1600() {
  std::vector<RandomImage> images(1);
  images[0].width = 1600;
  images[0].height = 1600;
  images[0].boxes = {{20, 20, 40, 40}};
  images[0].labels = {0};
  images[0].crowd = {0};
  return DatasetOf(images);
}

TEST(ChipsTest, NegativeChipsComeFromUncoveredProposals) {
  // One image 1600x1600 at factor 1, one GT box top-left; proposals: a
  // cluster of 12 bottom-right (no GT there), 12 inside the positive chip,
  // and a cluster of 2 elsewhere.
  const CocoDataset ds = OneBoxTopLeft1600();
  ChipSamplerOptions o = OneFactorScale(1.0);
  o.scales[0].negative_min_proposals = 10;
  ProposalSet props(1);
  std::vector<std::vector<ScoredBox>> per_scale(1);
  for (int i = 0; i < 12; ++i) {
    per_scale[0].push_back({{1300.f + i, 1300, 1350.f + i, 1340}, 0.9f});
    per_scale[0].push_back({{30.f + i, 30, 70.f + i, 80}, 0.8f});
  }
  per_scale[0].push_back({{800, 100, 850, 150}, 0.5f});
  per_scale[0].push_back({{810, 100, 850, 150}, 0.5f});
  props.Set(1, per_scale);
  const ChipSampler sampler(o);
  CoverScratch cover;
  ImageChips chips;
  sampler.GenerateImageChips(ds, 0, &props, 0, &cover, &chips);
  ASSERT_EQ(chips.scales[0].positives.size(), 1u);
  ASSERT_EQ(chips.scales[0].negatives.size(), 1u);
  EXPECT_EQ(chips.scales[0].negative_counts[0], 12);
  const Chip& neg = chips.scales[0].negatives[0];
  EXPECT_TRUE(neg.Contains({1300, 1300, 1361, 1340}));
  // The epoch takes it (negatives_per_image = 2 >= pool of 1).
  const auto epoch = sampler.Epoch(ds, &props, 0);
  int negatives = 0;
  for (const auto& r : epoch) negatives += r.negative;
  EXPECT_EQ(negatives, 1);
  // Without proposals: no negatives.
  EXPECT_EQ(sampler.Epoch(ds, nullptr, 0).size(), 1u);
}

TEST(ChipsTest, TightNegativesShrinkToTheirProposals) {
  // As above: a cluster of 12 proposals spanning (1300, 1300)-(1361, 1340).
  const CocoDataset ds = OneBoxTopLeft1600();
  ProposalSet props(1);
  std::vector<std::vector<ScoredBox>> per_scale(1);
  for (int i = 0; i < 12; ++i) {
    per_scale[0].push_back({{1300.f + i, 1300, 1350.f + i, 1340}, 0.9f});
  }
  props.Set(1, per_scale);
  for (const int min_side : {64, 256}) {
    ChipSamplerOptions o = OneFactorScale(1.0);
    o.scales[0].negative_min_proposals = 10;
    o.tight_canvas = true;
    o.canvas_step = 64;
    o.min_chip_size = min_side;
    o.tight_negatives = true;
    const ChipSampler sampler(o);
    CoverScratch cover;
    ImageChips chips;
    for (uint64_t epoch = 0; epoch < 4; ++epoch) {
      sampler.GenerateImageChips(ds, 0, &props, epoch, &cover, &chips);
      ASSERT_EQ(chips.scales[0].negatives.size(), 1u);
      EXPECT_EQ(chips.scales[0].negative_counts[0], 12);
      const Chip& neg = chips.scales[0].negatives[0];
      EXPECT_EQ(neg.x2 - neg.x1, min_side) << min_side;
      EXPECT_EQ(neg.y2 - neg.y1, min_side) << min_side;
      EXPECT_TRUE(neg.Contains({1300, 1300, 1361, 1340})) << min_side;
      EXPECT_EQ(CanvasPixels(o, neg), int64_t{min_side} * min_side);
    }
    // Without tight_negatives they stay chip_size wide.
    o.tight_negatives = false;
    ChipSampler(o).GenerateImageChips(ds, 0, &props, 0, &cover, &chips);
    ASSERT_EQ(chips.scales[0].negatives.size(), 1u);
    EXPECT_EQ(chips.scales[0].negatives[0].x2 - chips.scales[0].negatives[0].x1,
              o.chip_size);
  }
}

TEST(ChipsTest, ProposalsMustFitTheSamplerAndTheDataset) {
  std::vector<RandomImage> images(2);
  for (RandomImage& im : images) {
    im.width = im.height = 800;
  }
  const CocoDataset ds = DatasetOf(images);  // image ids 1 and 2
  const ChipSampler three(ThreeScales());
  const ChipSampler one(OneFactorScale(1.0));
  ProposalSet one_scale(1);
  one_scale.Set(2, {{}});
  EXPECT_OK(one.CheckProposals(one_scale, "p.bin", ds));
  // Fewer scales than the sampler (the trainer's old check, now shared).
  EXPECT_THAT(three.CheckProposals(one_scale, "p.bin", ds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("p.bin has proposals for 1 scales but the "
                                 "sampler has 3")));
  // Another dataset's images: none of ours.
  ProposalSet foreign(1);
  foreign.Set(77, {{}});
  foreign.Set(78, {{}});
  EXPECT_THAT(one.CheckProposals(foreign, "other.bin", ds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("other.bin: none of its 2 images is one of "
                                 "the dataset's 2")));
  // An empty file fits anything of its scale count (no negatives).
  EXPECT_OK(one.CheckProposals(ProposalSet(1), "empty.bin", ds));
}

TEST(ChipsTest, EpochSamplesAtMostKNegativesPerImage) {
  std::vector<RandomImage> images(3);
  ProposalSet props(1);
  for (int i = 0; i < 3; ++i) {
    images[i].width = 3000;
    images[i].height = 3000;
    std::vector<std::vector<ScoredBox>> per_scale(1);
    // Nine far-apart clusters of 5 proposals each: 9 negative chips.
    for (int cx = 0; cx < 3; ++cx) {
      for (int cy = 0; cy < 3; ++cy) {
        for (int k = 0; k < 5; ++k) {
          const float x = 100.f + cx * 1000 + k, y = 100.f + cy * 1000;
          per_scale[0].push_back({{x, y, x + 40, y + 40}, 1.0f});
        }
      }
    }
    props.Set(i + 1, per_scale);
  }
  const CocoDataset ds = DatasetOf(images);
  ChipSamplerOptions o = OneFactorScale(1.0);
  o.negatives_per_image = 2;
  const ChipSampler sampler(o);
  std::set<std::tuple<int, int, int>> seen_over_epochs;
  for (uint64_t epoch = 0; epoch < 8; ++epoch) {
    const auto records = sampler.Epoch(ds, &props, epoch);
    std::vector<int> per_image(3, 0);
    std::set<std::tuple<int, int, int>> in_epoch;
    for (const auto& r : records) {
      ASSERT_EQ(r.negative, 1);
      ++per_image[r.image_index];
      EXPECT_TRUE(in_epoch.insert({r.image_index, r.chip.x1, r.chip.y1}).second)
          << "sampled with replacement";
      seen_over_epochs.insert({r.image_index, r.chip.x1, r.chip.y1});
    }
    EXPECT_THAT(per_image, ::testing::ElementsAre(2, 2, 2));
  }
  // Over 8 epochs the uniform draw reaches most of the 27 negative chips.
  EXPECT_GT(seen_over_epochs.size(), 15u);
}

}  // namespace
}  // namespace sniper::data
