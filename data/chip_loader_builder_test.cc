#include "data/chip_loader_builder.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<ChipLoaderOptions> Build(const std::string& text) {
  LoaderConfig c;
  const absl::Status s = ParseTextProto(text, "loader.pbtxt", &c);
  if (!s.ok()) return s;
  return BuildChipLoaderOptions(c, 512);
}

TEST(ChipLoaderBuilderTest, DefaultsAndOverrides) {
  ASSERT_OK_AND_ASSIGN(ChipLoaderOptions d, Build(""));
  EXPECT_EQ(d.threads, 2);
  EXPECT_EQ(d.batch_size, 8);
  EXPECT_EQ(d.render.layout, ChipLayout::kChwFloat32);
  EXPECT_EQ(d.render.chip_size, 512);
  EXPECT_FLOAT_EQ(d.render.mean[0], 123.675f);
  EXPECT_EQ(d.on_error, LoadErrorPolicy::kFail);
  ASSERT_OK_AND_ASSIGN(
      ChipLoaderOptions o,
      Build("threads: 0 batch_size: 16 layout: HWC_UINT8 mean: [1, 2, 300] "
            "std: [1, 1, 2] flip: false on_error: SKIP seed: 5"));
  EXPECT_GE(o.threads, 1);
  EXPECT_EQ(o.batch_size, 16);
  EXPECT_EQ(o.render.layout, ChipLayout::kHwcUint8);
  EXPECT_EQ(o.render.pad_value[2], 255);
  EXPECT_FLOAT_EQ(o.render.std[2], 2);
  EXPECT_FALSE(o.flip);
  EXPECT_EQ(o.on_error, LoadErrorPolicy::kSkip);
  EXPECT_EQ(o.seed, 5u);
}

TEST(ChipLoaderBuilderTest, RejectsNamingTheField) {
  EXPECT_THAT(
      Build("batch_size: 0"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("LoaderConfig.batch_size: must be >= 1, got 0")));
  EXPECT_THAT(Build("mean: [1, 2]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("LoaderConfig.mean: needs 3 values, got 2")));
  EXPECT_THAT(
      Build("std: [1, 0, 1]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("LoaderConfig.std[1]: must be finite and > 0")));
  EXPECT_THAT(Build("queue_depth: 0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("queue_depth: must be >= 1")));
  EXPECT_THAT(Build("layout: LAYOUT_UNSPECIFIED"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("layout: must be CHW_FLOAT32 or HWC_UINT8")));
  EXPECT_THAT(Build("threads: -1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("threads: must be in [0, 1024], got -1")));
  EXPECT_THAT(Build("thread: 2"), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("loader.pbtxt:1:")));
}

}  // namespace
}  // namespace sniper::data
