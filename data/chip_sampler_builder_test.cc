#include "data/chip_sampler_builder.h"

#include <dirent.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kValid[] = R"(
  scales { size { factor: 3.0 } valid_range { max: 80 } negative_min_proposals: 25 }
  scales { size { resolution { short_side: 800 max_long_side: 1280 } }
           valid_range { min: 32 max: 150 } }
  scales { size { long_side: 512 } valid_range { min: 120 } }
  stride_jitter: 3
)";

absl::StatusOr<ChipSamplerOptions> Build(const std::string& text) {
  return ParseChipSamplerOptions(text, "test.pbtxt");
}

TEST(ChipSamplerBuilderTest, BuildsWithDefaults) {
  ASSERT_OK_AND_ASSIGN(ChipSamplerOptions o, Build(kValid));
  ASSERT_EQ(o.scales.size(), 3u);
  EXPECT_EQ(o.scales[0].kind, ScaleSpec::Kind::kFactor);
  EXPECT_DOUBLE_EQ(o.scales[0].factor, 3.0);
  EXPECT_EQ(o.scales[0].negative_min_proposals, 25);
  EXPECT_EQ(o.scales[1].short_side, 800);
  EXPECT_EQ(o.scales[1].negative_min_proposals, 10);  // default
  EXPECT_TRUE(std::isinf(o.scales[2].valid_max));     // default inf
  EXPECT_EQ(o.mode, ChipMode::kChips);
  EXPECT_EQ(o.chip_size, 512);
  EXPECT_EQ(o.stride, 32);
  EXPECT_EQ(o.max_stride(), 35);
  EXPECT_EQ(o.negatives_per_image, 2);
  EXPECT_EQ(o.max_proposals_per_scale, 300);
  EXPECT_TRUE(o.crowd_as_ignore);
}

TEST(ChipSamplerBuilderTest, CoverAndCanvasOptions) {
  ASSERT_OK_AND_ASSIGN(ChipSamplerOptions d, Build(kValid));
  EXPECT_EQ(d.cover, CoverKind::kGreedy);  // the paper's, by default
  EXPECT_FALSE(d.tight_canvas);
  EXPECT_EQ(d.shape_rule().min_side, 512);
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions o,
      Build(std::string(kValid) +
            "cover: OPTIMIZED canvas: TIGHT min_chip_size: 256 "
            "canvas_step: 128"));
  EXPECT_EQ(o.cover, CoverKind::kOptimized);
  EXPECT_TRUE(o.tight_canvas);
  const ChipShapeRule r = o.shape_rule();
  EXPECT_EQ(r.chip_size, 512);
  EXPECT_EQ(r.min_side, 256);
  EXPECT_EQ(r.step, 128);
  EXPECT_TRUE(r.tight);
  EXPECT_EQ(r.CanvasPixels(Chip{0, 0, 300, 129}), 384 * 256);
  EXPECT_FALSE(o.tight_negatives);
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions n,
      Build(std::string(kValid) + "canvas: TIGHT tight_negatives: true"));
  EXPECT_TRUE(n.tight_negatives);
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions per_scale,
      Build("scales { size { factor: 2 } min_chip_size: 512 } "
            "scales { size { factor: 1 } } cover: OPTIMIZED canvas: TIGHT "
            "min_chip_size: 256"));
  EXPECT_EQ(per_scale.shape_rule(0).min_side, 512);
  EXPECT_EQ(per_scale.shape_rule(1).min_side, 256);
  EXPECT_EQ(per_scale.shape_rule().min_side, 256);
}

void ExpectRejected(const std::string& text, const std::string& message) {
  EXPECT_THAT(Build(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
      << text;
}

TEST(ChipSamplerBuilderTest, RejectsInvalidFieldsNamingThem) {
  ExpectRejected(
      "chip_size: 512",
      "test.pbtxt: ChipSamplerConfig.scales: must have at least one");
  ExpectRejected("scales { valid_range { max: 10 } }",
                 "scales[0].size: one of factor, resolution, long_side");
  ExpectRejected("scales { size { factor: 0 } }",
                 "scales[0].size.factor: must be finite and > 0, got 0");
  ExpectRejected(
      "scales { size { factor: 1 } } scales { size { factor: 1 } "
      "valid_range { min: 150 max: 120 } }",
      "scales[1].valid_range: min (150) must be < max (120)");
  ExpectRejected(
      "scales { size { resolution { short_side: 800 "
      "max_long_side: 700 } } }",
      "max_long_side: must be >= short_side (800), got 700");
  ExpectRejected("scales { size { long_side: -1 } }",
                 "scales[0].size.long_side: must be > 0, got -1");
  ExpectRejected("scales { size { factor: 1 } valid_range { min: -1 } }",
                 "valid_range.min: must be finite and >= 0");
  ExpectRejected("scales { size { factor: 1 } } chip_size: 0",
                 "chip_size: must be in [1, 16384], got 0");
  ExpectRejected("scales { size { factor: 1 } } stride: 0",
                 "stride: must be > 0, got 0");
  ExpectRejected("scales { size { factor: 1 } } stride: 500 stride_jitter: 20",
                 "stride + stride_jitter + 1 (521) must be < chip_size (512)");
  ExpectRejected("scales { size { factor: 1 } } stride_jitter: -2",
                 "stride_jitter: must be >= 0");
  ExpectRejected("scales { size { factor: 1 } } mode: MODE_UNSPECIFIED",
                 "mode: must be CHIPS or WHOLE_IMAGE");
  ExpectRejected("scales { size { factor: 1 } } negatives_per_image: -1",
                 "negatives_per_image: must be >= 0");
  ExpectRejected("scales { size { factor: 1 } } max_proposals_per_scale: 0",
                 "max_proposals_per_scale: must be > 0");
  ExpectRejected("scales { size { factor: 1 } negative_min_proposals: -3 }",
                 "negative_min_proposals: must be >= 0");
  ExpectRejected("scales { size { factor: 1 } test_post_nms_top_n: 100 }",
                 "scales[0].test_post_nms_top_n: is a test scale's setting "
                 "(eval.scales)");
  ExpectRejected("scales { size { factor: 1 } } cover: COVER_UNSPECIFIED",
                 "cover: must be GREEDY or OPTIMIZED");
  ExpectRejected("scales { size { factor: 1 } } canvas: CANVAS_UNSPECIFIED",
                 "canvas: must be FIXED or TIGHT");
  ExpectRejected("scales { size { factor: 1 } } canvas_step: 48",
                 "canvas_step: must be a positive multiple of 32");
  ExpectRejected(
      "scales { size { factor: 1 } } canvas: TIGHT chip_size: 480 "
      "canvas_step: 128",
      "chip_size (480) must be a multiple of canvas_step (128)");
  ExpectRejected(
      "scales { size { factor: 1 } } cover: OPTIMIZED canvas: TIGHT "
      "canvas_step: 64 min_chip_size: 96",
      "min_chip_size: must be a multiple of canvas_step (64) in [64, "
      "chip_size (512)], got 96");
  ExpectRejected(
      "scales { size { factor: 1 } } cover: OPTIMIZED canvas: TIGHT "
      "min_chip_size: 544",
      "got 544");
  ExpectRejected(
      "scales { size { factor: 1 } } scales { size { factor: 2 } "
      "min_chip_size: 100 } canvas: TIGHT",
      "scales[1].min_chip_size: must be a multiple of canvas_step (32)");
  ExpectRejected("scales { size { factor: 1 } } tight_negatives: true",
                 "tight_negatives: needs canvas TIGHT");
  // Parse errors name file and line.
  ExpectRejected("scales {\n size { scale: 2 } }", "test.pbtxt:2:");
}

TEST(ChipSamplerBuilderTest, TestScalesCarryTheirProposalCount) {
  ChipSamplerConfig config;
  ASSERT_OK(
      ParseTextProto("scales { size { factor: 1 } } "
                     "scales { size { factor: 0.5 } test_post_nms_top_n: 200 } "
                     "mode: WHOLE_IMAGE",
                     "test.pbtxt", &config));
  // Training refuses what a test scale may set.
  EXPECT_THAT(BuildChipSamplerOptions(config, "P.sampler"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("P.sampler.scales[1].test_post_nms_top_n: "
                                 "is a test scale's setting")));
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions test,
      BuildChipSamplerOptions(config, "P.eval", ScaleUse::kTest));
  ASSERT_EQ(test.scales.size(), 2u);
  EXPECT_EQ(test.scales[0].test_post_nms_top_n, 0);  // the model's
  EXPECT_EQ(test.scales[1].test_post_nms_top_n, 200);
  config.mutable_scales(1)->set_test_post_nms_top_n(0);
  EXPECT_THAT(
      BuildChipSamplerOptions(config, "P.eval", ScaleUse::kTest),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("P.eval.scales[1].test_post_nms_top_n: must be >= 1, "
                         "got 0")));
}

TEST(ChipSamplerBuilderTest, MissingFileNamesIt) {
  EXPECT_THAT(LoadChipSamplerOptions("/no/such/sampler.pbtxt"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/no/such/sampler.pbtxt")));
}

// Every sampler config in configs/ parses and builds.
TEST(ChipSamplerBuilderTest, AllSamplerConfigsBuild) {
  const std::string dir = "configs";
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << "configs/ not in runfiles";
  int built = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 15 ||
        name.compare(name.size() - 14, 14, "_sampler.pbtxt") != 0) {
      continue;
    }
    const absl::StatusOr<ChipSamplerOptions> o =
        LoadChipSamplerOptions(dir + "/" + name);
    EXPECT_TRUE(o.ok()) << name << ": " << o.status();
    ++built;
  }
  ::closedir(d);
  EXPECT_GE(built, 2);
  // The COCO SNIPER settings are the paper's.
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions o,
      LoadChipSamplerOptions("configs/coco_sniper_sampler.pbtxt"));
  ASSERT_EQ(o.scales.size(), 3u);
  EXPECT_EQ(o.scales[0].short_side, 1400);
  EXPECT_EQ(o.scales[0].max_long_side, 2000);
  EXPECT_FLOAT_EQ(o.scales[0].valid_max, 80);
  EXPECT_FLOAT_EQ(o.scales[1].valid_min, 32);
  EXPECT_FLOAT_EQ(o.scales[1].valid_max, 150);
  EXPECT_EQ(o.scales[2].long_side, 512);
  EXPECT_FLOAT_EQ(o.scales[2].valid_min, 120);
  EXPECT_EQ(o.chip_size, 512);
  ASSERT_OK_AND_ASSIGN(
      ChipSamplerOptions b,
      LoadChipSamplerOptions("configs/coco_single_scale_sampler.pbtxt"));
  EXPECT_EQ(b.mode, ChipMode::kWholeImage);
  EXPECT_EQ(b.scales[0].max_long_side, 1333);
}

}  // namespace
}  // namespace sniper::data
