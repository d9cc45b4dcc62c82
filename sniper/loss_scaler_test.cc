#include "sniper/loss_scaler.h"

#include "gtest/gtest.h"

namespace sniper {
namespace {

TEST(LossScalerTest, OverflowHalvesAndSkips) {
  LossScaler s(1024, 3);
  EXPECT_FALSE(s.Update(false));
  EXPECT_DOUBLE_EQ(s.scale(), 512);
  EXPECT_TRUE(s.Update(true));
  EXPECT_EQ(s.clean_steps(), 1);
  EXPECT_FALSE(s.Update(false));  // resets the clean run
  EXPECT_EQ(s.clean_steps(), 0);
  EXPECT_DOUBLE_EQ(s.scale(), 256);
}

TEST(LossScalerTest, CleanStepsGrowTheScale) {
  LossScaler s(8, 2);
  EXPECT_TRUE(s.Update(true));
  EXPECT_DOUBLE_EQ(s.scale(), 8);
  EXPECT_TRUE(s.Update(true));
  EXPECT_DOUBLE_EQ(s.scale(), 16);
  EXPECT_EQ(s.clean_steps(), 0);
}

TEST(LossScalerTest, BoundedBothWays) {
  LossScaler low(2, 100);
  EXPECT_FALSE(low.at_minimum());
  low.Update(false);
  low.Update(false);
  EXPECT_DOUBLE_EQ(low.scale(), LossScaler::kMinScale);
  EXPECT_TRUE(low.at_minimum());
  LossScaler high(LossScaler::kMaxScale, 1);
  high.Update(true);
  EXPECT_DOUBLE_EQ(high.scale(), LossScaler::kMaxScale);
}

TEST(LossScalerTest, RestoreContinuesTheSameSequence) {
  LossScaler a(64, 3), b(1, 1);
  a.Update(true);
  a.Update(true);
  b.Restore(a.scale(), a.clean_steps());
  a.Update(true);
  b.Update(true);
  EXPECT_DOUBLE_EQ(a.scale(), b.scale());
  EXPECT_DOUBLE_EQ(b.scale(), 128);
}

}  // namespace
}  // namespace sniper
