#include "port/large_block_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>

namespace sniper {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// Installed once for the whole test binary (the cap read then): 160 MiB.
class LargeBlockAllocatorTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsetenv("SNIPER_LARGE_BLOCKS");
    setenv("SNIPER_LARGE_BLOCK_CACHE_MB", "160", 1);
    ASSERT_TRUE(InstallLargeBlockCpuAllocator(/*by_default=*/true));
    EXPECT_TRUE(InstallLargeBlockCpuAllocator(false));  // the first decides
  }
  void SetUp() override { ReleaseCachedLargeBlocks(); }
};

TEST_F(LargeBlockAllocatorTest, LargeTensorsAreAlignedBlocksFreedWithThem) {
  EXPECT_EQ(LargeBlockCacheLimitBytes(), size_t{160} << 20);
  const LargeBlockStats before = GetLargeBlockStats();
  {
    // 64 MiB + 4 bytes: rounded up to whole 2 MiB pages.
    torch::Tensor big = torch::empty({16 * kMiB + 1}, torch::kFloat);
    EXPECT_EQ(GetLargeBlockStats().live, before.live + 1);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data_ptr()) % (2 << 20), 0u);
    big.fill_(0.5f);
    big[-1] = 3.0f;
    EXPECT_DOUBLE_EQ(big.sum().item<double>(), 0.5 * 16 * kMiB + 3.0);
    // Below the threshold: the previous allocator's.
    torch::Tensor small = torch::ones({8 * kMiB - 1}, torch::kFloat);
    EXPECT_EQ(GetLargeBlockStats().live, before.live + 1);
    EXPECT_EQ(small.sum().item<double>(), 8 * kMiB - 1);
    // Views and results of operations are tensors like any other.
    torch::Tensor doubled = big * 2;
    EXPECT_EQ(GetLargeBlockStats().live, before.live + 2);
    EXPECT_FLOAT_EQ(doubled[-1].item<float>(), 6.0f);
  }
  const LargeBlockStats after = GetLargeBlockStats();
  EXPECT_EQ(after.live, before.live);
  EXPECT_EQ(after.cached, 2);  // both kept: 132 MiB <= 160
  EXPECT_EQ(after.cached_bytes, 2 * (64 * kMiB + 2 * kMiB));
  // LibTorch's raw interface (address in, address out), large and small.
  c10::Allocator* a = c10::GetCPUAllocator();
  void* large = a->raw_allocate(size_t{40} << 20);
  void* small = a->raw_allocate(4096);
  EXPECT_EQ(GetLargeBlockStats().live, before.live + 1);
  static_cast<char*>(large)[(size_t{40} << 20) - 1] = 1;
  static_cast<char*>(small)[4095] = 1;
  a->raw_deallocate(large);
  a->raw_deallocate(small);
  EXPECT_EQ(GetLargeBlockStats().live, before.live);
}

TEST_F(LargeBlockAllocatorTest, FreedBlocksAreReusedForRequestsTheyFit) {
  const LargeBlockStats start = GetLargeBlockStats();
  void* first = nullptr;
  {
    torch::Tensor t = torch::empty({10 * kMiB}, torch::kFloat);  // 40 MiB
    first = t.data_ptr();
  }
  {
    // The same size again: the same block, no new mapping.
    torch::Tensor t = torch::full({10 * kMiB}, 2.0f);
    EXPECT_EQ(t.data_ptr(), first);
    EXPECT_EQ(t.sum().item<double>(), 20.0 * kMiB);
  }
  LargeBlockStats s = GetLargeBlockStats();
  EXPECT_EQ(s.mapped - start.mapped, 1);
  EXPECT_EQ(s.reused - start.reused, 1);
  {
    // A quarter smaller still fits it (34 MiB rounds to 34; 40 <= 42.5).
    torch::Tensor t = torch::empty({34 * kMiB / 4}, torch::kFloat);
    EXPECT_EQ(t.data_ptr(), first);
    // Much smaller than the cached block (and now nothing is cached): new.
    torch::Tensor u = torch::empty({32 * kMiB / 4}, torch::kFloat);
    EXPECT_NE(u.data_ptr(), first);
  }
  {
    // 32 MiB: the 40 MiB block is over a quarter larger; the 32 MiB one
    // freed just before fits exactly.
    torch::Tensor t = torch::empty({8 * kMiB}, torch::kFloat);
    EXPECT_NE(t.data_ptr(), first);
  }
  s = GetLargeBlockStats();
  EXPECT_EQ(s.mapped - start.mapped, 2);
  EXPECT_EQ(s.reused - start.reused, 3);
  EXPECT_EQ(s.cached, 2);
  ReleaseCachedLargeBlocks();
  s = GetLargeBlockStats();
  EXPECT_EQ(s.cached, 0);
  EXPECT_EQ(s.cached_bytes, 0);
  EXPECT_EQ(s.unmapped - start.unmapped, 2);
}

TEST_F(LargeBlockAllocatorTest, TheCacheStaysUnderItsCapOldestOut) {
  const LargeBlockStats start = GetLargeBlockStats();
  {
    torch::Tensor a = torch::empty({16 * kMiB}, torch::kFloat);  // 64 MiB
    torch::Tensor b = torch::empty({12 * kMiB}, torch::kFloat);  // 48 MiB
    torch::Tensor c = torch::empty({14 * kMiB}, torch::kFloat);  // 56 MiB
    a.reset();                                                   // freed first
    b.reset();
    // c freed last: 168 MiB > 160, so `a` (the oldest) is unmapped.
  }
  LargeBlockStats s = GetLargeBlockStats();
  EXPECT_EQ(s.cached, 2);
  EXPECT_EQ(s.cached_bytes, 104 * kMiB);
  EXPECT_EQ(s.unmapped - start.unmapped, 1);
  {
    // A block larger than the whole cap is unmapped when freed.
    torch::Tensor huge = torch::empty({48 * kMiB}, torch::kFloat);
  }
  s = GetLargeBlockStats();
  EXPECT_EQ(s.cached_bytes, 104 * kMiB);
  EXPECT_EQ(s.unmapped - start.unmapped, 2);
}

}  // namespace
}  // namespace sniper
