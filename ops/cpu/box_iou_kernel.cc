// Pairwise IoU / IoA on the CPU: boxes of `b` are transposed into structure
// of arrays so the inner loop over b is branch-free and vectorizes; rows of
// the output are split across threads with at::parallel_for.
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "ops/cpu/kernels.h"

namespace sniper::ops::cpu {
namespace {

template <typename T>
void Overlap(const T* a, int64_t n, const T* b, int64_t m, bool ioa, T* out) {
  std::vector<T> bx1(m), by1(m), bx2(m), by2(m), barea(m);
  for (int64_t j = 0; j < m; ++j) {
    bx1[j] = b[4 * j];
    by1[j] = b[4 * j + 1];
    bx2[j] = b[4 * j + 2];
    by2[j] = b[4 * j + 3];
    barea[j] =
        std::max<T>(bx2[j] - bx1[j], 0) * std::max<T>(by2[j] - by1[j], 0);
  }
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(m, 1));
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T x1 = a[4 * i], y1 = a[4 * i + 1], x2 = a[4 * i + 2],
              y2 = a[4 * i + 3];
      const T area = std::max<T>(x2 - x1, 0) * std::max<T>(y2 - y1, 0);
      T* row = out + i * m;
      for (int64_t j = 0; j < m; ++j) {
        const T w = std::max<T>(std::min(x2, bx2[j]) - std::max(x1, bx1[j]), 0);
        const T h = std::max<T>(std::min(y2, by2[j]) - std::max(y1, by1[j]), 0);
        const T inter = w * h;
        const T denom = ioa ? barea[j] : area + barea[j] - inter;
        // denom == 0 implies inter == 0: 0 / tiny = 0, and no branch, so
        // the loop vectorizes.
        row[j] = inter / std::max(denom, std::numeric_limits<T>::min());
      }
    }
  });
}

}  // namespace

at::Tensor BoxOverlapKernel(const at::Tensor& a, const at::Tensor& b,
                            bool ioa) {
  at::Tensor out = at::empty({a.size(0), b.size(0)}, a.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "BoxOverlapKernel", [&] {
    Overlap<scalar_t>(a.data_ptr<scalar_t>(), a.size(0), b.data_ptr<scalar_t>(),
                      b.size(0), ioa, out.data_ptr<scalar_t>());
  });
  return out;
}

}  // namespace sniper::ops::cpu
