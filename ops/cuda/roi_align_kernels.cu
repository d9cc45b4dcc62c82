#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "ops/cuda/roi_align_kernels.h"

namespace sniper::ops::cuda {
namespace {

template <typename T>
__device__ __forceinline__ float ToFloat(T v) {
  return static_cast<float>(v);
}
template <>
__device__ __forceinline__ float ToFloat<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float ToFloat<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T, typename A>
__device__ __forceinline__ A Load(const T* p) {
  return static_cast<A>(ToFloat(*p));
}
template <>
__device__ __forceinline__ double Load<double, double>(const double* p) {
  return *p;
}

template <typename T, typename A>
__device__ __forceinline__ T Store(A v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half Store<__half, float>(float v) {
  return __float2half(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 Store<__nv_bfloat16, float>(float v) {
  return __float2bfloat16(v);
}

// Geometry of one roi; false for an invalid roi (outputs zero).
template <typename A>
struct RoiGeometry {
  int64_t batch;
  A x1, y1, bin_w, bin_h;
  int64_t grid_h, grid_w;

  __device__ bool Init(const A* roi, const RoIAlignShape& s) {
    const A b = roi[0];
    if (!isfinite(b) || b < 0 || b >= s.batch) return false;
    for (int k = 1; k < 5; ++k) {
      if (!isfinite(roi[k])) return false;
    }
    batch = static_cast<int64_t>(b);
    const A offset = s.aligned ? A(0.5) : A(0);
    const A scale = static_cast<A>(s.spatial_scale);
    x1 = roi[1] * scale - offset;
    y1 = roi[2] * scale - offset;
    A w = roi[3] * scale - offset - x1;
    A h = roi[4] * scale - offset - y1;
    if (!s.aligned) {
      w = w > A(1) ? w : A(1);
      h = h > A(1) ? h : A(1);
    }
    bin_w = w / s.pooled_width;
    bin_h = h / s.pooled_height;
    grid_h = s.sampling_ratio > 0
                 ? s.sampling_ratio
                 : static_cast<int64_t>(ceil(h / s.pooled_height));
    grid_w = s.sampling_ratio > 0
                 ? s.sampling_ratio
                 : static_cast<int64_t>(ceil(w / s.pooled_width));
    if (grid_h < 1) grid_h = 1;
    if (grid_w < 1) grid_w = 1;
    return true;
  }
};

// Bilinear neighbours and weights of (y, x); false outside the map.
template <typename A>
__device__ bool Bilinear(A y, A x, int64_t height, int64_t width,
                         int64_t off[4], A wt[4]) {
  if (y < -1 || y > height || x < -1 || x > width) return false;
  y = y > 0 ? y : A(0);
  x = x > 0 ? x : A(0);
  int64_t yl = static_cast<int64_t>(y), xl = static_cast<int64_t>(x), yh, xh;
  if (yl >= height - 1) {
    yh = yl = height - 1;
    y = static_cast<A>(yl);
  } else {
    yh = yl + 1;
  }
  if (xl >= width - 1) {
    xh = xl = width - 1;
    x = static_cast<A>(xl);
  } else {
    xh = xl + 1;
  }
  const A ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
  off[0] = yl * width + xl;
  off[1] = yl * width + xh;
  off[2] = yh * width + xl;
  off[3] = yh * width + xh;
  wt[0] = hy * hx;
  wt[1] = hy * lx;
  wt[2] = ly * hx;
  wt[3] = ly * lx;
  return true;
}

// Output index -> (roi, channel, bin row, bin column), [K, C, PH, PW] order.
__device__ __forceinline__ void Decompose(int64_t idx, const RoIAlignShape& s,
                                          int64_t* k, int64_t* c, int64_t* ph,
                                          int64_t* pw) {
  *pw = idx % s.pooled_width;
  *ph = (idx / s.pooled_width) % s.pooled_height;
  *c = (idx / (s.pooled_width * s.pooled_height)) % s.channels;
  *k = idx / (s.pooled_width * s.pooled_height * s.channels);
}

// Calls fn(offsets, weights) for every in-map bilinear sample of bin
// (ph, pw) of a roi.
template <typename A, typename Fn>
__device__ __forceinline__ void ForEachSample(const RoiGeometry<A>& g,
                                              int64_t ph, int64_t pw,
                                              const RoIAlignShape& s, Fn fn) {
  for (int64_t iy = 0; iy < g.grid_h; ++iy) {
    const A y = g.y1 + ph * g.bin_h + (iy + A(0.5)) * g.bin_h / g.grid_h;
    for (int64_t ix = 0; ix < g.grid_w; ++ix) {
      const A x = g.x1 + pw * g.bin_w + (ix + A(0.5)) * g.bin_w / g.grid_w;
      int64_t off[4];
      A wt[4];
      if (Bilinear(y, x, s.height, s.width, off, wt)) fn(off, wt);
    }
  }
}

template <typename T, typename A>
__global__ void ForwardKernel(const T* input, const A* rois, RoIAlignShape s,
                              T* output) {
  const int64_t total = s.rois * s.channels * s.pooled_height * s.pooled_width;
  for (int64_t idx =
           blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t k, c, ph, pw;
    Decompose(idx, s, &k, &c, &ph, &pw);
    RoiGeometry<A> g;
    if (!g.Init(rois + 5 * k, s)) {
      output[idx] = Store<T, A>(A(0));
      continue;
    }
    const T* plane = input + (g.batch * s.channels + c) * s.height * s.width;
    A sum = 0;
    ForEachSample(g, ph, pw, s, [&](const int64_t* off, const A* wt) {
      for (int t = 0; t < 4; ++t) sum += wt[t] * Load<T, A>(plane + off[t]);
    });
    output[idx] = Store<T, A>(sum / (g.grid_h * g.grid_w));
  }
}

template <typename T, typename A>
__global__ void BackwardKernel(const T* grad_output, const A* rois,
                               RoIAlignShape s, A* grad_input) {
  const int64_t total = s.rois * s.channels * s.pooled_height * s.pooled_width;
  for (int64_t idx =
           blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t k, c, ph, pw;
    Decompose(idx, s, &k, &c, &ph, &pw);
    RoiGeometry<A> g;
    if (!g.Init(rois + 5 * k, s)) continue;
    A* plane = grad_input + (g.batch * s.channels + c) * s.height * s.width;
    const A grad = Load<T, A>(grad_output + idx) / (g.grid_h * g.grid_w);
    ForEachSample(g, ph, pw, s, [&](const int64_t* off, const A* wt) {
      for (int t = 0; t < 4; ++t) atomicAdd(plane + off[t], wt[t] * grad);
    });
  }
}

int Blocks(int64_t total, int threads) {
  const int64_t b = (total + threads - 1) / threads;
  return static_cast<int>(b < 65535 * 8 ? (b > 0 ? b : 1) : 65535 * 8);
}

template <typename T, typename A>
cudaError_t Forward(const void* input, const void* rois, const RoIAlignShape& s,
                    void* output, cudaStream_t stream) {
  const int64_t total = s.rois * s.channels * s.pooled_height * s.pooled_width;
  if (total == 0) return cudaSuccess;
  ForwardKernel<T, A><<<Blocks(total, 256), 256, 0, stream>>>(
      static_cast<const T*>(input), static_cast<const A*>(rois), s,
      static_cast<T*>(output));
  return cudaGetLastError();
}

template <typename T, typename A>
cudaError_t Backward(const void* grad_output, const void* rois,
                     const RoIAlignShape& s, void* grad_input,
                     cudaStream_t stream) {
  const int64_t total = s.rois * s.channels * s.pooled_height * s.pooled_width;
  if (total == 0) return cudaSuccess;
  BackwardKernel<T, A><<<Blocks(total, 256), 256, 0, stream>>>(
      static_cast<const T*>(grad_output), static_cast<const A*>(rois), s,
      static_cast<A*>(grad_input));
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchRoIAlignForward(DType dtype, const void* input,
                                  const void* rois, const RoIAlignShape& shape,
                                  void* output, cudaStream_t stream) {
  switch (dtype) {
    case DType::kFloat:
      return Forward<float, float>(input, rois, shape, output, stream);
    case DType::kDouble:
      return Forward<double, double>(input, rois, shape, output, stream);
    case DType::kHalf:
      return Forward<__half, float>(input, rois, shape, output, stream);
    case DType::kBFloat16:
      return Forward<__nv_bfloat16, float>(input, rois, shape, output, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchRoIAlignBackward(DType dtype, const void* grad_output,
                                   const void* rois, const RoIAlignShape& shape,
                                   void* grad_input, cudaStream_t stream) {
  switch (dtype) {
    case DType::kFloat:
      return Backward<float, float>(grad_output, rois, shape, grad_input,
                                    stream);
    case DType::kDouble:
      return Backward<double, double>(grad_output, rois, shape, grad_input,
                                      stream);
    case DType::kHalf:
      return Backward<__half, float>(grad_output, rois, shape, grad_input,
                                     stream);
    case DType::kBFloat16:
      return Backward<__nv_bfloat16, float>(grad_output, rois, shape,
                                            grad_input, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sniper::ops::cuda
