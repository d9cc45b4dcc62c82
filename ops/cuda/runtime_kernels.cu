#include <cuda_runtime.h>

#include "ops/cuda/runtime_kernels.h"

namespace sniper::cuda::internal {
namespace {

// Grid-stride loop with 64-bit indices (no int overflow on huge tensors).
__global__ void SaxpyKernel(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       i < n; i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    y[i] += a * x[i];
  }
}

}  // namespace

int DeviceCount(int* count) {
  *count = 0;
  return static_cast<int>(cudaGetDeviceCount(count));
}

const char* ErrorString(int error) {
  return cudaGetErrorString(static_cast<cudaError_t>(error));
}

int HostSaxpy(float a, const float* x, float* y, int64_t n) {
  if (n <= 0) return 0;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  float* dx = nullptr;
  float* dy = nullptr;
  cudaError_t err = cudaMalloc(&dx, bytes);
  if (err == cudaSuccess) err = cudaMalloc(&dy, bytes);
  if (err == cudaSuccess)
    err = cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice);
  if (err == cudaSuccess)
    err = cudaMemcpy(dy, y, bytes, cudaMemcpyHostToDevice);
  if (err == cudaSuccess) {
    const int threads = 256;
    const int64_t wanted = (n + threads - 1) / threads;
    const int blocks = static_cast<int>(wanted < 4096 ? wanted : 4096);
    SaxpyKernel<<<blocks, threads>>>(a, dx, dy, n);
    err = cudaGetLastError();
  }
  if (err == cudaSuccess)
    err = cudaMemcpy(y, dy, bytes, cudaMemcpyDeviceToHost);
  cudaFree(dx);
  cudaFree(dy);
  return static_cast<int>(err);
}

}  // namespace sniper::cuda::internal
