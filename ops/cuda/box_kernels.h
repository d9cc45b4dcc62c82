// File: ops/cuda/box_kernels.h
//
// CUDA kernels of ops/ on raw device pointers (compiled by nvcc without
// LibTorch). The host entry points in ops/*.cc allocate with ATen, pass the
// current stream, and are built only against a CUDA LibTorch.
#ifndef SNIPER_OPS_CUDA_BOX_KERNELS_H_
#define SNIPER_OPS_CUDA_BOX_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sniper::ops::cuda {

// Boxes per word of the NMS suppression mask.
constexpr int kNmsBlock = 64;

// constexpr: usable in device code (nvcc --expt-relaxed-constexpr).
constexpr int64_t NmsColBlocks(int64_t n) {
  return (n + kNmsBlock - 1) / kNmsBlock;
}

// out[i * m + j] = IoU (ioa = false) or IoA (ioa = true) of a_i, b_j.
template <typename T>
cudaError_t LaunchBoxOverlap(const T* a, int64_t n, const T* b, int64_t m,
                             bool ioa, T* out, cudaStream_t stream);

// NMS over `n` boxes already sorted by decreasing score. `mask` has
// n * NmsColBlocks(n) words; `removed` NmsColBlocks(n) zeroed words of
// scratch; keep[i] is set to 1 for kept boxes (0 otherwise). Everything stays
// on the device: the mask is reduced by one thread block, no host sync.
template <typename T>
cudaError_t LaunchNms(const T* sorted_boxes, int64_t n, double iou_threshold,
                      unsigned long long* mask, unsigned long long* removed,
                      uint8_t* keep, cudaStream_t stream);

// Soft-NMS in one thread block. `scores` is a scratch copy (modified).
// Writes up to n selected indices and scores, and their count to
// *num_kept (device memory).
template <typename T>
cudaError_t LaunchSoftNms(const T* boxes, T* scores, int64_t n, bool gaussian,
                          double sigma, double iou_threshold,
                          double score_threshold, int64_t* keep, T* keep_scores,
                          int64_t* num_kept, cudaStream_t stream);

}  // namespace sniper::ops::cuda

#endif  // SNIPER_OPS_CUDA_BOX_KERNELS_H_
