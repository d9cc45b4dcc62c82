// File: ops/cuda/runtime_kernels.h
//
// Plain C++ entry points implemented in runtime_kernels.cu (compiled by nvcc,
// no Abseil there). Use ops/cuda/runtime.h instead, which wraps them in
// absl::Status.
#ifndef SNIPER_OPS_CUDA_RUNTIME_KERNELS_H_
#define SNIPER_OPS_CUDA_RUNTIME_KERNELS_H_

#include <cstdint>

namespace sniper::cuda::internal {

// Number of CUDA devices in *count; returns a cudaError_t value (0 = success).
int DeviceCount(int* count);

// Name of a cudaError_t value.
const char* ErrorString(int error);

// y[i] += a * x[i] for i < n, on device 0, copying through host memory.
// Returns a cudaError_t value.
int HostSaxpy(float a, const float* x, float* y, int64_t n);

}  // namespace sniper::cuda::internal

#endif  // SNIPER_OPS_CUDA_RUNTIME_KERNELS_H_
