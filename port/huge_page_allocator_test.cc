#include "port/huge_page_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>

namespace sniper {
namespace {

TEST(HugePageAllocatorTest, LargeTensorsAreAlignedMappingsFreedWithThem) {
  unsetenv("SNIPER_HUGE_PAGES");
  ASSERT_TRUE(InstallHugePageCpuAllocator());
  EXPECT_TRUE(InstallHugePageCpuAllocator());  // once
  const size_t before = HugePageBlocksLive();
  {
    // 64 MiB + 4 bytes: rounded up to whole 2 MiB pages.
    torch::Tensor big = torch::empty({(int64_t{16} << 20) + 1}, torch::kFloat);
    EXPECT_EQ(HugePageBlocksLive(), before + 1);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data_ptr()) % (2 << 20), 0u);
    big.fill_(0.5f);
    big[-1] = 3.0f;
    EXPECT_DOUBLE_EQ(big.sum().item<double>(), 0.5 * (16 << 20) + 3.0);
    // Below the threshold: the previous allocator's.
    torch::Tensor small = torch::ones({(int64_t{8} << 20) - 1}, torch::kFloat);
    EXPECT_EQ(HugePageBlocksLive(), before + 1);
    EXPECT_EQ(small.sum().item<double>(), (8 << 20) - 1);
    // Views and results of operations are tensors like any other.
    torch::Tensor doubled = big * 2;
    EXPECT_EQ(HugePageBlocksLive(), before + 2);
    EXPECT_FLOAT_EQ(doubled[-1].item<float>(), 6.0f);
  }
  EXPECT_EQ(HugePageBlocksLive(), before);
  // LibTorch's raw interface (address in, address out), large and small.
  c10::Allocator* a = c10::GetCPUAllocator();
  void* large = a->raw_allocate(size_t{40} << 20);
  void* small = a->raw_allocate(4096);
  EXPECT_EQ(HugePageBlocksLive(), before + 1);
  static_cast<char*>(large)[(size_t{40} << 20) - 1] = 1;
  static_cast<char*>(small)[4095] = 1;
  a->raw_deallocate(large);
  a->raw_deallocate(small);
  EXPECT_EQ(HugePageBlocksLive(), before);
}

}  // namespace
}  // namespace sniper
