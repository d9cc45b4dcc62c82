#include "ops/cuda/runtime.h"

#include <vector>

#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::cuda {
namespace {

TEST(CudaRuntimeTest, DeviceCountAgreesWithHasDevice) {
  const absl::StatusOr<int> count = DeviceCount();
  EXPECT_EQ(count.ok(), HasDevice());
  if (count.ok()) {
    EXPECT_GT(*count, 0);
    EXPECT_TRUE(WhyNoDevice().empty());
  } else {
    EXPECT_EQ(count.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_FALSE(WhyNoDevice().empty());
  }
}

TEST(CudaRuntimeTest, MismatchedSizesRejectedWithoutDevice) {
  std::vector<float> x(3), y(4);
  EXPECT_EQ(Saxpy(1.0f, x, absl::MakeSpan(y)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CudaRuntimeTest, SaxpyKernelMatchesHost) {
  if (!HasDevice()) GTEST_SKIP() << WhyNoDevice();
  // Large enough that the grid-stride loop runs more than once per thread.
  const int64_t n = 3'000'001;
  std::vector<float> x(n), y(n), expected(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i % 97) * 0.5f;
    y[i] = static_cast<float>(i % 13);
    expected[i] = y[i] + 2.0f * x[i];
  }
  ASSERT_OK(Saxpy(2.0f, x, absl::MakeSpan(y)));
  for (int64_t i = 0; i < n; i += 9973) ASSERT_FLOAT_EQ(y[i], expected[i]) << i;
  EXPECT_FLOAT_EQ(y[n - 1], expected[n - 1]);
}

}  // namespace
}  // namespace sniper::cuda
