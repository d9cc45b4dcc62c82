#include "port/json_locate.h"

#include "gtest/gtest.h"

namespace sniper {
namespace {

TEST(JsonLocateTest, NamesTheFirstOutOfRangeNumberByPathAndLine) {
  EXPECT_EQ(FindOutOfRangeNumber(
                R"({"images": [{"id": 1}, {"id": 18446744073709551616}]})"),
            "images[1].id (line 1): 18446744073709551616");
  EXPECT_EQ(FindOutOfRangeNumber("{\"a\": {\"b\": [0, 1,\n 2, -1e999]}}"),
            "a.b[3] (line 2): -1e999");
  EXPECT_EQ(FindOutOfRangeNumber(R"({"k\"ey": [1e400]})"),
            "k\"ey[0] (line 1): 1e400");
  EXPECT_EQ(FindOutOfRangeNumber("1e999"), "$ (line 1): 1e999");
  // A quoted number and an escaped quote are not numbers.
  EXPECT_EQ(FindOutOfRangeNumber(R"({"s": "1e999 \" 99999999999999999999"})"),
            std::nullopt);
}

TEST(JsonLocateTest, NumbersThatFitAreNotReported) {
  EXPECT_EQ(
      FindOutOfRangeNumber(
          R"([18446744073709551615, -9223372036854775808, 1e308, 1e-400])"),
      std::nullopt);
  EXPECT_EQ(FindOutOfRangeNumber(R"([-9223372036854775809])"),
            "[0] (line 1): -9223372036854775809");
  EXPECT_EQ(FindOutOfRangeNumber("{\"unterminated"), std::nullopt);
  EXPECT_EQ(FindOutOfRangeNumber("]]"), std::nullopt);
}

}  // namespace
}  // namespace sniper
