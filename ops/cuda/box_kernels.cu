#include "ops/cuda/box_kernels.h"

namespace sniper::ops::cuda {
namespace {

__host__ __device__ inline int64_t MinI64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

template <typename T>
__device__ __forceinline__ T Overlap(const T* a, const T* b, bool ioa) {
  const T w = max(min(a[2], b[2]) - max(a[0], b[0]), T(0));
  const T h = max(min(a[3], b[3]) - max(a[1], b[1]), T(0));
  const T inter = w * h;
  const T area_b = max(b[2] - b[0], T(0)) * max(b[3] - b[1], T(0));
  if (ioa) return area_b > 0 ? inter / area_b : T(0);
  const T area_a = max(a[2] - a[0], T(0)) * max(a[3] - a[1], T(0));
  const T uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : T(0);
}

template <typename T>
__global__ void BoxOverlapKernel(const T* a, int64_t n, const T* b, int64_t m,
                                 bool ioa, T* out) {
  const int64_t total = n * m;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       k < total; k += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t i = k / m, j = k % m;
    out[k] = Overlap(a + 4 * i, b + 4 * j, ioa);
  }
}

// Block (row r, column c) of 64 x 64 boxes: bit t of mask[i][c] is set when
// box i suppresses box c * 64 + t (IoU > threshold and later in order).
template <typename T>
__global__ void NmsMaskKernel(const T* boxes, int64_t n, T threshold,
                              unsigned long long* mask) {
  const int64_t row = blockIdx.y, col = blockIdx.x;
  if (row > col) return;
  const int64_t col_blocks = NmsColBlocks(n);
  const int row_size = static_cast<int>(MinI64(n - row * kNmsBlock, kNmsBlock));
  const int col_size = static_cast<int>(MinI64(n - col * kNmsBlock, kNmsBlock));
  __shared__ T block_boxes[kNmsBlock * 4];
  if (threadIdx.x < col_size) {
    for (int k = 0; k < 4; ++k) {
      block_boxes[threadIdx.x * 4 + k] =
          boxes[(col * kNmsBlock + threadIdx.x) * 4 + k];
    }
  }
  __syncthreads();
  if (threadIdx.x >= row_size) return;
  const int64_t i = row * kNmsBlock + threadIdx.x;
  const T* box = boxes + i * 4;
  unsigned long long bits = 0;
  const int start = row == col ? threadIdx.x + 1 : 0;
  for (int t = start; t < col_size; ++t) {
    if (Overlap(box, block_boxes + t * 4, false) > threshold) bits |= 1ull << t;
  }
  mask[i * col_blocks + col] = bits;
}

// Sequential greedy pass over the mask in one thread block: the removed set
// is kept in `removed` (global scratch, col_blocks words) and each kept
// box's mask row is OR-ed in by all threads. No data leaves the device.
__global__ void NmsReduceKernel(const unsigned long long* mask, int64_t n,
                                unsigned long long* removed, uint8_t* keep) {
  const int64_t col_blocks = NmsColBlocks(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t word = i / kNmsBlock;
    const bool is_removed = (removed[word] >> (i % kNmsBlock)) & 1ull;
    __syncthreads();  // everyone has read removed[word] before it changes
    if (!is_removed) {
      if (threadIdx.x == 0) keep[i] = 1;
      const unsigned long long* row = mask + i * col_blocks;
      for (int64_t w = word + threadIdx.x; w < col_blocks; w += blockDim.x) {
        removed[w] |= row[w];
      }
    } else if (threadIdx.x == 0) {
      keep[i] = 0;
    }
    __syncthreads();
  }
}

constexpr int kSoftNmsThreads = 1024;

template <typename T>
__global__ void SoftNmsKernel(const T* boxes, T* scores, int64_t n,
                              bool gaussian, T inv_sigma, T iou_threshold,
                              T min_score, int64_t* keep, T* keep_scores,
                              int64_t* num_kept) {
  __shared__ T best_score[kSoftNmsThreads];
  __shared__ int64_t best_index[kSoftNmsThreads];
  __shared__ T box_m[4];
  // Boxes under the threshold start dead (-inf).
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    if (!(scores[j] >= min_score)) scores[j] = -INFINITY;
  }
  __syncthreads();
  int64_t count = 0;
  while (true) {
    // Block argmax: highest score, lowest index on ties.
    T bs = -INFINITY;
    int64_t bi = -1;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const T v = scores[j];
      if (v > bs) {
        bs = v;
        bi = j;
      }
    }
    best_score[threadIdx.x] = bs;
    best_index[threadIdx.x] = bi;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
      if (threadIdx.x < stride) {
        const T os = best_score[threadIdx.x + stride];
        const int64_t oi = best_index[threadIdx.x + stride];
        const T ms = best_score[threadIdx.x];
        const int64_t mi = best_index[threadIdx.x];
        if (os > ms || (os == ms && oi >= 0 && (mi < 0 || oi < mi))) {
          best_score[threadIdx.x] = os;
          best_index[threadIdx.x] = oi;
        }
      }
      __syncthreads();
    }
    const int64_t m = best_index[0];
    const T ms = best_score[0];
    if (m < 0 || !(ms >= min_score)) break;
    if (threadIdx.x == 0) {
      keep[count] = m;
      keep_scores[count] = ms;
      for (int k = 0; k < 4; ++k) box_m[k] = boxes[4 * m + k];
      scores[m] = -INFINITY;
    }
    ++count;
    __syncthreads();
    const T am =
        max(box_m[2] - box_m[0], T(0)) * max(box_m[3] - box_m[1], T(0));
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const T v = scores[j];
      if (!(v >= min_score)) continue;
      const T* b = boxes + 4 * j;
      const T w = max(min(box_m[2], b[2]) - max(box_m[0], b[0]), T(0));
      const T h = max(min(box_m[3], b[3]) - max(box_m[1], b[1]), T(0));
      const T inter = w * h;
      const T aj = max(b[2] - b[0], T(0)) * max(b[3] - b[1], T(0));
      const T uni = am + aj - inter;
      const T iou = uni > 0 ? inter / uni : T(0);
      const T decay = gaussian ? exp(-iou * iou * inv_sigma)
                               : (iou > iou_threshold ? T(1) - iou : T(1));
      const T nv = v * decay;
      scores[j] = nv >= min_score ? nv : T(-INFINITY);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *num_kept = count;
}

}  // namespace

template <typename T>
cudaError_t LaunchSoftNms(const T* boxes, T* scores, int64_t n, bool gaussian,
                          double sigma, double iou_threshold,
                          double score_threshold, int64_t* keep, T* keep_scores,
                          int64_t* num_kept, cudaStream_t stream) {
  SoftNmsKernel<T><<<1, kSoftNmsThreads, 0, stream>>>(
      boxes, scores, n, gaussian, static_cast<T>(1.0 / sigma),
      static_cast<T>(iou_threshold), static_cast<T>(score_threshold), keep,
      keep_scores, num_kept);
  return cudaGetLastError();
}

template cudaError_t LaunchSoftNms<float>(const float*, float*, int64_t, bool,
                                          double, double, double, int64_t*,
                                          float*, int64_t*, cudaStream_t);
template cudaError_t LaunchSoftNms<double>(const double*, double*, int64_t,
                                           bool, double, double, double,
                                           int64_t*, double*, int64_t*,
                                           cudaStream_t);

template <typename T>
cudaError_t LaunchBoxOverlap(const T* a, int64_t n, const T* b, int64_t m,
                             bool ioa, T* out, cudaStream_t stream) {
  const int64_t total = n * m;
  if (total == 0) return cudaSuccess;
  const int threads = 256;
  const int blocks =
      static_cast<int>(MinI64((total + threads - 1) / threads, 65535));
  BoxOverlapKernel<T><<<blocks, threads, 0, stream>>>(a, n, b, m, ioa, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchNms(const T* sorted_boxes, int64_t n, double iou_threshold,
                      unsigned long long* mask, unsigned long long* removed,
                      uint8_t* keep, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int64_t col_blocks = NmsColBlocks(n);
  if (col_blocks > 65535) return cudaErrorInvalidValue;  // grid y limit
  const dim3 grid(static_cast<unsigned>(col_blocks),
                  static_cast<unsigned>(col_blocks));
  NmsMaskKernel<T><<<grid, kNmsBlock, 0, stream>>>(
      sorted_boxes, n, static_cast<T>(iou_threshold), mask);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  NmsReduceKernel<<<1, 256, 0, stream>>>(mask, n, removed, keep);
  return cudaGetLastError();
}

template cudaError_t LaunchBoxOverlap<float>(const float*, int64_t,
                                             const float*, int64_t, bool,
                                             float*, cudaStream_t);
template cudaError_t LaunchBoxOverlap<double>(const double*, int64_t,
                                              const double*, int64_t, bool,
                                              double*, cudaStream_t);
template cudaError_t LaunchNms<float>(const float*, int64_t, double,
                                      unsigned long long*, unsigned long long*,
                                      uint8_t*, cudaStream_t);
template cudaError_t LaunchNms<double>(const double*, int64_t, double,
                                       unsigned long long*, unsigned long long*,
                                       uint8_t*, cudaStream_t);

}  // namespace sniper::ops::cuda
