// File: ops/cuda/roi_align_kernels.h
//
// RoIAlign CUDA kernels on raw device pointers (nvcc, no LibTorch). The
// element type is passed as an enum so host code needs no CUDA half types.
// rois are [K, 5] in the accumulation type (float32; float64 for kDouble).
#ifndef SNIPER_OPS_CUDA_ROI_ALIGN_KERNELS_H_
#define SNIPER_OPS_CUDA_ROI_ALIGN_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sniper::ops::cuda {

enum class DType { kFloat, kDouble, kHalf, kBFloat16 };

struct RoIAlignShape {
  int64_t batch, channels, height, width;  // input
  int64_t rois;
  int64_t pooled_height, pooled_width;
  double spatial_scale;
  int64_t sampling_ratio;
  bool aligned;
};

// output[K, C, PH, PW] (element type `dtype`).
cudaError_t LaunchRoIAlignForward(DType dtype, const void* input,
                                  const void* rois, const RoIAlignShape& shape,
                                  void* output, cudaStream_t stream);

// grad_input[N, C, H, W] in the accumulation type (zeroed by the caller) +=
// the gradient of grad_output[K, C, PH, PW] (element type `dtype`), with
// atomic adds.
cudaError_t LaunchRoIAlignBackward(DType dtype, const void* grad_output,
                                   const void* rois, const RoIAlignShape& shape,
                                   void* grad_input, cudaStream_t stream);

}  // namespace sniper::ops::cuda

#endif  // SNIPER_OPS_CUDA_ROI_ALIGN_KERNELS_H_
