#include "data/chip_stats.h"

#include <string>

#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_paper_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler_builder.h"
#include "data/testing/shared_data.h"
#include "data/testing/text_sampler.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

ChipSampler Sampler(const char* text) {
  return sniper::testing::SamplerFromText(text);
}

CocoDataset OneImage(int32_t w, int32_t h, std::vector<BoxXYWH> boxes) {
  CocoImage im;
  im.id = 1;
  im.width = w;
  im.height = h;
  CocoDatasetBuilder b("one");
  b.AddImage(im);
  for (size_t i = 0; i < boxes.size(); ++i) {
    b.AddAnnotation({boxes[i], 0, false, static_cast<int64_t>(i) + 1});
  }
  return *std::move(b).Build();
}

TEST(ChipStatsTest, HandCountedImage) {
  // 640x480 with one 40 px box (in the fine [0, 80) and middle [32, 150)
  // ranges) and one 200 px box (coarse only). Fine: 1867x1400 -> one chip;
  // middle: 1067x800 -> one chip; coarse: 512x384 -> one chip holding the
  // image. Baseline: 1067x800.
  const CocoDataset ds =
      OneImage(640, 480, {{100, 100, 40, 40}, {300, 200, 200, 200}});
  const ChipStats st =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperPaperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_EQ(st.images, 1);
  EXPECT_EQ(st.positive_chips, 3);
  EXPECT_EQ(st.negative_chips, 0);
  EXPECT_EQ(st.scales[0].valid_boxes, 1);
  EXPECT_EQ(st.scales[1].valid_boxes, 1);
  EXPECT_EQ(st.scales[2].valid_boxes, 1);
  EXPECT_EQ(st.sniper_pixels(), 3 * 512 * 512);
  EXPECT_EQ(st.single_scale_pixels, 1067 * 800);
  EXPECT_EQ(st.pyramid_pixels, 1867 * 1400 + 1067 * 800 + 512 * 384);
  EXPECT_DOUBLE_EQ(st.covered_fraction(), 1.0);
  EXPECT_EQ(st.box_appearances(), 3);  // one chip per scale, one box each
  EXPECT_DOUBLE_EQ(st.appearances_per_box(), 1.0);
  const std::string json = ChipStatsToJson(st);
  for (const char* key :
       {"\"images\": 1", "\"positive_chips\": 3", "\"negative_chips\": 0",
        "\"sniper_pixels_per_image\": 786432.000",
        "\"single_scale_pixels_per_image\": 853600.000",
        "\"pyramid_pixels_per_image\"", "\"ratio_vs_single_scale\": 0.921312",
        "\"covered_fraction\": 1.000000", "\"pixels_per_image\": 262144.000"}) {
    EXPECT_THAT(json, ::testing::HasSubstr(key));
  }
}

TEST(ChipStatsTest, HandCountedImageTightCanvases) {
  // As above with our default (cover OPTIMIZED, canvas TIGHT, windows down
  // to 384, sides multiples of 64). Fine: the 40 px box is 117 px at x2.917
  // -> a 384 x 384 window; middle: 67 px at x1.667 -> 384 x 384; coarse:
  // the 512 x 384 image itself.
  const CocoDataset ds =
      OneImage(640, 480, {{100, 100, 40, 40}, {300, 200, 200, 200}});
  const ChipStats st =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_EQ(st.positive_chips, 3);
  EXPECT_EQ(st.sniper_pixels(), 2 * 384 * 384 + 512 * 384);
  EXPECT_DOUBLE_EQ(st.covered_fraction(), 1.0);

  // A scale's own min_chip_size: full windows at the fine scale only.
  absl::StatusOr<ChipSamplerOptions> o =
      ParseChipSamplerOptions(embedded::kCocoSniperSampler, "embedded");
  ASSERT_TRUE(o.ok()) << o.status();
  o->scales[0].min_chip_size = 512;
  const ChipStats fine_full =
      ComputeChipStats(ds, ChipSampler(*o),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_EQ(fine_full.sniper_pixels(), 512 * 512 + 384 * 384 + 512 * 384);
  EXPECT_DOUBLE_EQ(fine_full.covered_fraction(), 1.0);
}

TEST(ChipStatsTest, ProposalRecallPerScale) {
  // The image above. Scale 0: a proposal equal to the 40 px box; scale 1:
  // (100, 100, 125, 140), IoU 25 / 40 = 0.625 with it; scale 2: a proposal
  // away from the 200 px box. Recall 1, 1, 0.
  const CocoDataset ds =
      OneImage(640, 480, {{100, 100, 40, 40}, {300, 200, 200, 200}});
  ProposalSet props(3);
  props.Set(1, {{{{100, 100, 140, 140}, 0.9f}},
                {{{100, 100, 125, 140}, 0.8f}, {{0, 0, 10, 10}, 0.1f}},
                {{{0, 0, 50, 50}, 0.7f}}});
  const ChipStats st =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperPaperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), &props, 0);
  ASSERT_TRUE(st.has_proposals);
  EXPECT_EQ(st.scales[0].proposals, 1);
  EXPECT_EQ(st.scales[1].proposals, 2);
  EXPECT_EQ(st.scales[0].recalled_boxes, 1);
  EXPECT_EQ(st.scales[1].recalled_boxes, 1);
  EXPECT_EQ(st.scales[2].recalled_boxes, 0);
  EXPECT_DOUBLE_EQ(st.scales[2].recall(), 0.0);
  EXPECT_THAT(
      FormatChipStats(st),
      ::testing::HasSubstr("recall@0.5 of valid boxes 0.0000 (0 of 1)"));
  EXPECT_THAT(ChipStatsToJson(st),
              ::testing::HasSubstr("\"proposal_recall\": 1.000000"));
  // Without proposals nothing about recall is printed.
  const ChipStats none =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperPaperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_THAT(FormatChipStats(none),
              ::testing::Not(::testing::HasSubstr("recall")));
}

TEST(ChipStatsTest, SingleScalePixelsMatchValSizeTable) {
  // shared/data/README.md: mean resized area of COCO val2017 at (800, 1333)
  // with rounded sides is 893,240 px (5,000 images).
  const std::string path =
      sniper::testing::SharedDataPath("coco_val2017_image_sizes.json");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  std::string text;
  ASSERT_OK(ReadFileToString(path, &text));
  // The sizes file has only "images"; give it an empty category list.
  const size_t end = text.rfind('}');
  ASSERT_NE(end, std::string::npos);
  text = text.substr(0, end) + ", \"categories\": []}";
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ParseCocoInstances(text, path, CocoReaderOptions{}));
  ASSERT_EQ(ds.num_images(), 5000u);
  const ChipStats st =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_NEAR(st.per_image(st.single_scale_pixels), 893240, 0.5);
}

TEST(ChipStatsTest, CocoMiniCoversEveryValidBox) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/instances.json");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, ReadCocoInstances(path, {}));
  const ChipStats paper =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperPaperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_EQ(paper.images, 747);
  EXPECT_DOUBLE_EQ(paper.covered_fraction(), 1.0);
  // README of shared/data: 890,553 px per image after the 800/1333 resize.
  EXPECT_NEAR(paper.per_image(paper.single_scale_pixels), 890553, 0.5);
  // The paper's positives cost about 1.3x the single-scale baseline's
  // pixels and far less than the 3-scale pyramid (docs/COCO_CHIPS.md's table).
  EXPECT_GT(paper.ratio_vs_single_scale(), 1.2);
  EXPECT_LT(paper.ratio_vs_single_scale(), 1.4);
  EXPECT_LT(paper.ratio_vs_pyramid(), 0.5);
  EXPECT_GT(paper.positive_chips, 747);
  // Ours: the same boxes covered, fewer chips and at most 1.15x (issue #22).
  const ChipStats ours =
      ComputeChipStats(ds, Sampler(embedded::kCocoSniperSampler),
                       Sampler(embedded::kCocoSingleScaleSampler), nullptr, 0);
  EXPECT_DOUBLE_EQ(ours.covered_fraction(), 1.0);
  EXPECT_EQ(ours.valid_boxes(), paper.valid_boxes());
  EXPECT_LT(ours.positive_chips, paper.positive_chips);
  EXPECT_LE(ours.ratio_vs_single_scale(), 1.15);
}

}  // namespace
}  // namespace sniper::data
