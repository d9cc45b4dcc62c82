#include "port/peak_memory.h"

#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace sniper {
namespace {

// Touches `bytes` of fresh memory so that it is resident.
std::unique_ptr<char[]> Touch(size_t bytes) {
  std::unique_ptr<char[]> p(new char[bytes]);
  std::memset(p.get(), 1, bytes);
  return p;
}

TEST(PeakMemoryTest, PeakCoversATouchedBlockAndResetForgetsIt) {
  constexpr int64_t kBlock = 256 << 20;
  const int64_t before = CurrentRssBytes();
  ASSERT_GT(before, 0);
  {
    std::unique_ptr<char[]> block = Touch(kBlock);
    EXPECT_GE(CurrentRssBytes(), before + kBlock * 9 / 10);
    EXPECT_GE(PeakRssBytes(), before + kBlock * 9 / 10);
  }
  // The block is gone (large blocks go back to the kernel); a reset brings
  // the peak down to about what is resident now.
  if (!ResetPeakRss()) GTEST_SKIP() << "/proc/self/clear_refs not writable";
  EXPECT_LT(PeakRssBytes(), before + kBlock / 2);
  EXPECT_GE(PeakRssBytes(), CurrentRssBytes() - (1 << 20));
}

}  // namespace
}  // namespace sniper
