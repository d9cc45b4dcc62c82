// The loss-curve picture: one 1000-pixel-wide panel per stage that logged
// rows, nothing written without any.
#include "sniper/loss_curve.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

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

}  // namespace
}  // namespace sniper
