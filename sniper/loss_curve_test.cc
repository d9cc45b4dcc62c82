// The loss-curve picture: one 1000-pixel-wide panel per stage that logged
// rows, nothing written without any.
#include "sniper/loss_curve.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

// A PNG's (width, height) from its IHDR chunk.
std::pair<uint32_t, uint32_t> PngSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string b((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(b.substr(1, 3), "PNG");
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      v = (v << 8) | static_cast<uint8_t>(b[at + k]);
    }
    return v;
  };
  return {be32(16), be32(20)};
}

TEST(LossCurveTest, APanelPerStageWithRows) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  LossHistory rpn{{"rpn_cls", "rpn_box"},
                  {{10, 1.0, {0.7, 0.3}}, {20, 0.5, {0.4, 0.1}}}};
  // An older checkpoint's history: the terms the model lacked are all 0.
  LossHistory detector{
      {"rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box", "mask"},
      {{10, 2.0, {0.5, 0.1, 1.0, 0.4, 0}}, {20, 1.5, {0.4, 0.1, 0.7, 0.3, 0}}}};
  const std::string two = dir + "/two.png";
  ASSERT_OK_AND_ASSIGN(bool drawn,
                       WriteLossCurve(two, {{"rpn", rpn}, {"det", detector}}));
  EXPECT_TRUE(drawn);
  const auto [w2, h2] = PngSize(two);
  EXPECT_EQ(w2, 1000u);
  const std::string one = dir + "/one.png";
  ASSERT_OK_AND_ASSIGN(drawn,
                       WriteLossCurve(one, {{"rpn", rpn}, {"empty", {}}}));
  EXPECT_TRUE(drawn);
  const auto [w1, h1] = PngSize(one);
  EXPECT_EQ(w1, 1000u);
  EXPECT_EQ(h1, 420u);
  EXPECT_GE(h2, 2 * h1);
  const std::string none = dir + "/none.png";
  ASSERT_OK_AND_ASSIGN(drawn, WriteLossCurve(none, {{"empty", {}}}));
  EXPECT_FALSE(drawn);
  EXPECT_FALSE(std::filesystem::exists(none));
}

// metrics.csv back into per-stage histories: each stage's own terms (the
// columns with values in its rows), rows without a loss skipped, bad cells
// named with their line.
TEST(LossCurveTest, LossesFromMetricsCsv) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string path = dir + "/metrics.csv";
  std::ofstream(path)
      << "stage,step,epoch,lr,loss,rpn_cls,rpn_box,rcnn_cls,focus,chips_per_s\n"
         "rpn,10,0,0.01,0.7,0.6,0.1,,,80\n"
         "rpn,20,0,0.01,0.5,0.45,0.05,,,81\n"
         "detector,10,0,0.01,2.5,0.5,0.1,1.2,0.7,30\n"
         "detector,15,0,0.01,,,,,,30\n"
         "detector,20,0,0.01,2.0,0.4,0.1,1.0,0.5,31\n";
  ASSERT_OK_AND_ASSIGN(const std::vector<StageLosses> stages,
                       LossesFromMetricsCsv(path));
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].title, "rpn stage: short-schedule RPN loss");
  EXPECT_EQ(stages[0].history.names,
            (std::vector<std::string>{"rpn_cls", "rpn_box"}));
  ASSERT_EQ(stages[0].history.rows.size(), 2u);
  EXPECT_EQ(stages[0].history.rows[1],
            (LossHistory::Row{20, 0.5, {0.45, 0.05}}));
  EXPECT_EQ(stages[1].title, "detector stage: detector loss");
  EXPECT_EQ(
      stages[1].history.names,
      (std::vector<std::string>{"rpn_cls", "rpn_box", "rcnn_cls", "focus"}));
  ASSERT_EQ(stages[1].history.rows.size(), 2u);  // step 15 logged no loss
  EXPECT_EQ(stages[1].history.rows[0].terms,
            (std::vector<double>{0.5, 0.1, 1.2, 0.7}));
  std::ofstream(dir + "/bad.csv") << "stage,step,loss,rpn_cls\nrpn,10,x,0.1\n";
  EXPECT_THAT(
      LossesFromMetricsCsv(dir + "/bad.csv").status(),
      testing::StatusIs(absl::StatusCode::kDataLoss,
                        ::testing::HasSubstr("bad.csv:2: 'x' in column loss")));
  std::ofstream(dir + "/short.csv") << "stage,step,loss\nrpn,10\n";
  EXPECT_THAT(LossesFromMetricsCsv(dir + "/short.csv").status(),
              testing::StatusIs(absl::StatusCode::kDataLoss,
                                ::testing::HasSubstr("short.csv:2: 2 cells")));
  EXPECT_THAT(LossesFromMetricsCsv(dir + "/missing.csv").status(),
              testing::StatusIs(absl::StatusCode::kNotFound,
                                ::testing::HasSubstr("missing.csv")));
}

}  // namespace
}  // namespace sniper
