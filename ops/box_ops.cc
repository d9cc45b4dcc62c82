// Entry points of the box operators (IoU/IoA, NMS): input checks, then
// dispatch to the CPU kernels (ops/cpu/) or the CUDA kernels
// (ops/cuda/box_kernels.cu, available with a CUDA LibTorch).
#include <cmath>
#include <limits>

#include "ops/box_iou.h"
#include "ops/cpu/kernels.h"
#include "ops/nms.h"
#include "ops/non_finite.h"
#include "ops/soft_nms.h"

#ifdef SNIPER_TORCH_HAS_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda/box_kernels.h"
#endif

namespace sniper::ops {
namespace detail {

void CheckBoxes(const at::Tensor& boxes, const char* op, const char* name) {
  TORCH_CHECK(boxes.defined(), op, ": ", name, " is undefined");
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, op, ": ", name,
              " must have shape [N, 4], got ", boxes.sizes());
  TORCH_CHECK(
      boxes.scalar_type() == at::kFloat || boxes.scalar_type() == at::kDouble,
      op, ": ", name, " must be float32 or float64, got ", boxes.scalar_type());
  TORCH_CHECK(boxes.is_cpu() || boxes.is_cuda(), op, ": ", name,
              " must be on the CPU or a CUDA device, got ", boxes.device());
  // The finiteness check needs the values on the host; on CUDA it would cost
  // a device sync per call, so there a NaN box simply never overlaps.
  if (boxes.is_cpu() && boxes.numel() > 0) {
    SNIPER_CHECK_FINITE(at::isfinite(boxes).all().item<bool>(), op, ": ", name,
                        " has non-finite coordinates");
  }
}

}  // namespace detail

namespace {

void CheckSameDevice(const at::Tensor& a, const at::Tensor& b, const char* op,
                     const char* an, const char* bn) {
  TORCH_CHECK(a.device() == b.device(), op, ": ", an, " is on ", a.device(),
              " but ", bn, " is on ", b.device());
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), op, ": ", an, " is ",
              a.scalar_type(), " but ", bn, " is ", b.scalar_type());
}

[[noreturn]] void NoCuda(const char* op) {
  TORCH_CHECK(false, op,
              ": CUDA tensors need sniper-cpp built against a CUDA LibTorch "
              "(SNIPER_TORCH_PREFIX); this build has CPU kernels only");
  std::abort();
}

#ifdef SNIPER_TORCH_HAS_CUDA
void CheckCuda(cudaError_t err, const char* op) {
  TORCH_CHECK(err == cudaSuccess, op,
              ": CUDA error: ", cudaGetErrorString(err));
}
#endif

at::Tensor Overlap(const at::Tensor& a_in, const at::Tensor& b_in, bool ioa,
                   const char* op) {
  detail::CheckBoxes(a_in, op, "a");
  detail::CheckBoxes(b_in, op, "b");
  CheckSameDevice(a_in, b_in, op, "a", "b");
  const at::Tensor a = a_in.contiguous(), b = b_in.contiguous();
  if (a.is_cpu()) return cpu::BoxOverlapKernel(a, b, ioa);
#ifdef SNIPER_TORCH_HAS_CUDA
  const c10::cuda::CUDAGuard guard(a.device());
  at::Tensor out = at::empty({a.size(0), b.size(0)}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "BoxOverlap", [&] {
    CheckCuda(cuda::LaunchBoxOverlap<scalar_t>(
                  a.data_ptr<scalar_t>(), a.size(0), b.data_ptr<scalar_t>(),
                  b.size(0), ioa, out.data_ptr<scalar_t>(),
                  at::cuda::getCurrentCUDAStream()),
              op);
  });
  return out;
#else
  NoCuda(op);
#endif
}

}  // namespace

at::Tensor BoxIou(const at::Tensor& a, const at::Tensor& b) {
  return Overlap(a, b, /*ioa=*/false, "BoxIou");
}

at::Tensor BoxIoa(const at::Tensor& a, const at::Tensor& b) {
  return Overlap(a, b, /*ioa=*/true, "BoxIoa");
}

at::Tensor Nms(const at::Tensor& boxes_in, const at::Tensor& scores_in,
               double iou_threshold) {
  detail::CheckBoxes(boxes_in, "Nms", "boxes");
  TORCH_CHECK(scores_in.defined() && scores_in.dim() == 1 &&
                  scores_in.size(0) == boxes_in.size(0),
              "Nms: scores must have shape [", boxes_in.size(0), "], got ",
              scores_in.defined() ? scores_in.sizes() : at::IntArrayRef{});
  CheckSameDevice(boxes_in, scores_in, "Nms", "boxes", "scores");
  TORCH_CHECK(iou_threshold >= 0, "Nms: iou_threshold must be >= 0, got ",
              iou_threshold);
  if (scores_in.is_cpu() && scores_in.numel() > 0) {
    TORCH_CHECK(!at::isnan(scores_in).any().item<bool>(),
                "Nms: scores contain NaN");
  }
  const at::Tensor boxes = boxes_in.contiguous();
  const at::Tensor scores = scores_in.contiguous();
  if (boxes.size(0) == 0) {
    return at::empty({0}, boxes.options().dtype(at::kLong));
  }
  if (boxes.is_cpu()) return cpu::NmsKernel(boxes, scores, iou_threshold);
#ifdef SNIPER_TORCH_HAS_CUDA
  const c10::cuda::CUDAGuard guard(boxes.device());
  const int64_t n = boxes.size(0);
  const at::Tensor order =
      std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const at::Tensor sorted = boxes.index_select(0, order).contiguous();
  const int64_t col_blocks = cuda::NmsColBlocks(n);
  at::Tensor mask =
      at::empty({n * col_blocks}, boxes.options().dtype(at::kLong));
  at::Tensor removed =
      at::zeros({col_blocks}, boxes.options().dtype(at::kLong));
  at::Tensor keep = at::empty({n}, boxes.options().dtype(at::kByte));
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "Nms", [&] {
    CheckCuda(
        cuda::LaunchNms<scalar_t>(
            sorted.data_ptr<scalar_t>(), n, iou_threshold,
            reinterpret_cast<unsigned long long*>(mask.data_ptr<int64_t>()),
            reinterpret_cast<unsigned long long*>(removed.data_ptr<int64_t>()),
            keep.data_ptr<uint8_t>(), at::cuda::getCurrentCUDAStream()),
        "Nms");
  });
  return order.masked_select(keep.to(at::kBool));
#else
  NoCuda("Nms");
#endif
}

std::pair<at::Tensor, at::Tensor> SoftNms(const at::Tensor& boxes_in,
                                          const at::Tensor& scores_in,
                                          const SoftNmsOptions& options) {
  detail::CheckBoxes(boxes_in, "SoftNms", "boxes");
  TORCH_CHECK(scores_in.defined() && scores_in.dim() == 1 &&
                  scores_in.size(0) == boxes_in.size(0),
              "SoftNms: scores must have shape [", boxes_in.size(0), "], got ",
              scores_in.defined() ? scores_in.sizes() : at::IntArrayRef{});
  CheckSameDevice(boxes_in, scores_in, "SoftNms", "boxes", "scores");
  const bool gaussian = options.method == SoftNmsOptions::Method::kGaussian;
  TORCH_CHECK(!gaussian || (std::isfinite(options.sigma) && options.sigma > 0),
              "SoftNms: sigma must be finite and > 0, got ", options.sigma);
  TORCH_CHECK(options.iou_threshold >= 0 && options.score_threshold >= 0,
              "SoftNms: thresholds must be >= 0, got iou ",
              options.iou_threshold, " score ", options.score_threshold);
  if (scores_in.is_cpu() && scores_in.numel() > 0) {
    TORCH_CHECK(!at::isnan(scores_in).any().item<bool>(),
                "SoftNms: scores contain NaN");
  }
  const at::Tensor boxes = boxes_in.contiguous();
  const at::Tensor scores = scores_in.contiguous();
  const cpu::SoftNmsParams p{gaussian, options.sigma, options.iou_threshold,
                             options.score_threshold};
  if (boxes.is_cpu()) return cpu::SoftNmsKernel(boxes, scores, p);
#ifdef SNIPER_TORCH_HAS_CUDA
  const c10::cuda::CUDAGuard guard(boxes.device());
  const int64_t n = boxes.size(0);
  at::Tensor work = scores.clone();
  at::Tensor keep = at::empty({n}, boxes.options().dtype(at::kLong));
  at::Tensor keep_scores = at::empty({n}, scores.options());
  at::Tensor count = at::zeros({1}, boxes.options().dtype(at::kLong));
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "SoftNms", [&] {
      CheckCuda(cuda::LaunchSoftNms<scalar_t>(
                    boxes.data_ptr<scalar_t>(), work.data_ptr<scalar_t>(), n,
                    gaussian, options.sigma, options.iou_threshold,
                    options.score_threshold, keep.data_ptr<int64_t>(),
                    keep_scores.data_ptr<scalar_t>(), count.data_ptr<int64_t>(),
                    at::cuda::getCurrentCUDAStream()),
                "SoftNms");
    });
  }
  const int64_t m = count.item<int64_t>();  // the result's size: one sync
  return {keep.slice(0, 0, m), keep_scores.slice(0, 0, m)};
#else
  NoCuda("SoftNms");
#endif
}

at::Tensor BatchedNms(const at::Tensor& boxes, const at::Tensor& scores,
                      const at::Tensor& groups, double iou_threshold) {
  detail::CheckBoxes(boxes, "BatchedNms", "boxes");
  TORCH_CHECK(groups.defined() && groups.dim() == 1 &&
                  groups.size(0) == boxes.size(0) &&
                  groups.scalar_type() == at::kLong,
              "BatchedNms: groups must be int64 with shape [", boxes.size(0),
              "], got ", groups.defined() ? groups.sizes() : at::IntArrayRef{},
              " ", groups.defined() ? groups.scalar_type() : at::kLong);
  TORCH_CHECK(groups.device() == boxes.device(), "BatchedNms: groups is on ",
              groups.device(), " but boxes is on ", boxes.device());
  if (boxes.size(0) == 0) {
    return at::empty({0}, boxes.options().dtype(at::kLong));
  }
  // Shift each group by a multiple of the coordinate span so that boxes of
  // different groups cannot overlap, then run one NMS.
  const at::Tensor lo = boxes.min();
  const at::Tensor span = boxes.max() - lo + 1;
  const at::Tensor offsets =
      groups.to(boxes.scalar_type()).mul(span).unsqueeze(1);
  return Nms(boxes - lo + offsets, scores, iou_threshold);
}

}  // namespace sniper::ops
