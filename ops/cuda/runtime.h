// File: ops/cuda/runtime.h
//
// CUDA availability checks for host code and tests. A GPU test starts with
//
//   if (!sniper::cuda::HasDevice()) GTEST_SKIP() <<
//   sniper::cuda::WhyNoDevice();
//
// so it skips cleanly, saying why, on machines without a GPU (CI).
#ifndef SNIPER_OPS_CUDA_RUNTIME_H_
#define SNIPER_OPS_CUDA_RUNTIME_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sniper::cuda {

// Whether this build compiled CUDA kernels (false where the toolkit was
// missing at build time).
bool BuiltWithCuda();

// Number of visible CUDA devices; Unavailable (with the runtime's reason)
// when there is no driver or device.
absl::StatusOr<int> DeviceCount();

// True when at least one device can be used.
bool HasDevice();

// One line saying why HasDevice() is false (empty when it is true).
std::string WhyNoDevice();

// y += a * x on device 0. Exercises a real kernel launch; used by tests.
absl::Status Saxpy(float a, absl::Span<const float> x, absl::Span<float> y);

}  // namespace sniper::cuda

#endif  // SNIPER_OPS_CUDA_RUNTIME_H_
