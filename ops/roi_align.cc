// RoIAlign entry points: checks, device dispatch, and the autograd Function.
#include "ops/roi_align.h"

#include <torch/autograd.h>

#include <cmath>

#include "ops/cpu/kernels.h"
#include "ops/non_finite.h"

#ifdef SNIPER_TORCH_HAS_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda/roi_align_kernels.h"
#endif

namespace sniper::ops {
namespace {

cpu::RoIAlignParams CheckOptions(const RoIAlignOptions& o) {
  TORCH_CHECK(o.pooled_height > 0 && o.pooled_width > 0,
              "RoIAlign: pooled size must be > 0, got ", o.pooled_height, "x",
              o.pooled_width);
  TORCH_CHECK(std::isfinite(o.spatial_scale) && o.spatial_scale > 0,
              "RoIAlign: spatial_scale must be finite and > 0, got ",
              o.spatial_scale);
  return {o.pooled_height, o.pooled_width, o.spatial_scale, o.sampling_ratio,
          o.aligned};
}

void CheckRois(const at::Tensor& rois, const at::Tensor& like, int64_t batch) {
  TORCH_CHECK(rois.defined() && rois.dim() == 2 && rois.size(1) == 5,
              "RoIAlign: rois must have shape [K, 5] (batch index, x1, y1, "
              "x2, y2), got ",
              rois.defined() ? rois.sizes() : at::IntArrayRef{});
  TORCH_CHECK(
      rois.scalar_type() == at::kFloat || rois.scalar_type() == at::kDouble,
      "RoIAlign: rois must be float32 or float64, got ", rois.scalar_type());
  TORCH_CHECK(rois.device() == like.device(), "RoIAlign: rois are on ",
              rois.device(), " but the features are on ", like.device());
  if (rois.is_cpu() && rois.size(0) > 0) {
    // On CUDA these would cost a sync; the kernels output 0 for such rois.
    SNIPER_CHECK_FINITE(at::isfinite(rois).all().item<bool>(),
                        "RoIAlign: rois have non-finite values");
    const at::Tensor b = rois.select(1, 0);
    TORCH_CHECK(((b >= 0) & (b < batch) & (b == b.floor())).all().item<bool>(),
                "RoIAlign: roi batch indices must be integers in [0, ", batch,
                ")");
  }
}

#ifdef SNIPER_TORCH_HAS_CUDA
cuda::DType CudaType(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return cuda::DType::kFloat;
    case at::kDouble:
      return cuda::DType::kDouble;
    case at::kHalf:
      return cuda::DType::kHalf;
    case at::kBFloat16:
      return cuda::DType::kBFloat16;
    default:
      TORCH_CHECK(false, "RoIAlign: unsupported dtype ", t);
  }
  return cuda::DType::kFloat;
}

cuda::RoIAlignShape Shape(at::IntArrayRef input, int64_t rois,
                          const RoIAlignOptions& o) {
  return {input[0],
          input[1],
          input[2],
          input[3],
          rois,
          o.pooled_height,
          o.pooled_width,
          o.spatial_scale,
          o.sampling_ratio,
          o.aligned};
}

at::ScalarType AccType(at::ScalarType t) {
  return t == at::kDouble ? at::kDouble : at::kFloat;
}
#endif

class RoIAlignFunction : public torch::autograd::Function<RoIAlignFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx,
                            const at::Tensor& input, const at::Tensor& rois,
                            int64_t pooled_height, int64_t pooled_width,
                            double spatial_scale, int64_t sampling_ratio,
                            bool aligned) {
    const RoIAlignOptions o{pooled_height, pooled_width, spatial_scale,
                            sampling_ratio, aligned};
    ctx->save_for_backward({rois});
    ctx->saved_data["pooled_height"] = pooled_height;
    ctx->saved_data["pooled_width"] = pooled_width;
    ctx->saved_data["spatial_scale"] = spatial_scale;
    ctx->saved_data["sampling_ratio"] = sampling_ratio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["input_sizes"] = input.sizes().vec();
    ctx->saved_data["input_dtype"] = static_cast<int64_t>(input.scalar_type());
    return detail::RoIAlignForward(input, rois, o);
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grads);
};

// The backward as its own Function so that a second derivative fails loudly
// instead of being silently zero.
class RoIAlignBackwardFunction
    : public torch::autograd::Function<RoIAlignBackwardFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx,
                            const at::Tensor& grad, const at::Tensor& rois,
                            int64_t pooled_height, int64_t pooled_width,
                            double spatial_scale, int64_t sampling_ratio,
                            bool aligned, std::vector<int64_t> input_sizes,
                            int64_t input_dtype) {
    const RoIAlignOptions o{pooled_height, pooled_width, spatial_scale,
                            sampling_ratio, aligned};
    return detail::RoIAlignBackward(grad, rois, o, input_sizes,
                                    static_cast<at::ScalarType>(input_dtype));
  }
  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext*, torch::autograd::variable_list) {
    TORCH_CHECK(false, "RoIAlign: double backward is not supported");
    return {};
  }
};

torch::autograd::variable_list RoIAlignFunction::backward(
    torch::autograd::AutogradContext* ctx,
    torch::autograd::variable_list grads) {
  const auto saved = ctx->get_saved_variables();
  const at::Tensor grad_input = RoIAlignBackwardFunction::apply(
      grads[0], saved[0], ctx->saved_data["pooled_height"].toInt(),
      ctx->saved_data["pooled_width"].toInt(),
      ctx->saved_data["spatial_scale"].toDouble(),
      ctx->saved_data["sampling_ratio"].toInt(),
      ctx->saved_data["aligned"].toBool(),
      ctx->saved_data["input_sizes"].toIntVector(),
      ctx->saved_data["input_dtype"].toInt());
  return {grad_input,   at::Tensor(), at::Tensor(), at::Tensor(),
          at::Tensor(), at::Tensor(), at::Tensor()};
}

}  // namespace

namespace detail {

at::Tensor RoIAlignForward(const at::Tensor& input_in,
                           const at::Tensor& rois_in,
                           const RoIAlignOptions& options) {
  const cpu::RoIAlignParams p = CheckOptions(options);
  TORCH_CHECK(input_in.defined() && input_in.dim() == 4,
              "RoIAlign: input must have shape [N, C, H, W], got ",
              input_in.defined() ? input_in.sizes() : at::IntArrayRef{});
  TORCH_CHECK(at::isFloatingType(input_in.scalar_type()),
              "RoIAlign: input must be a floating type, got ",
              input_in.scalar_type());
  TORCH_CHECK(input_in.is_cpu() || input_in.is_cuda(),
              "RoIAlign: input must be on the CPU or a CUDA device, got ",
              input_in.device());
  CheckRois(rois_in, input_in, input_in.size(0));
  const at::Tensor rois = rois_in.contiguous();
  // The CPU kernel reads a channels-last map as it is (no NCHW copy).
  if (input_in.is_cpu() &&
      input_in.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    return cpu::RoIAlignForwardKernel(input_in, rois, p);
  }
  const at::Tensor input = input_in.contiguous();
  if (input.is_cpu()) return cpu::RoIAlignForwardKernel(input, rois, p);
#ifdef SNIPER_TORCH_HAS_CUDA
  const c10::cuda::CUDAGuard guard(input.device());
  at::Tensor out =
      at::empty({rois.size(0), input.size(1), p.pooled_height, p.pooled_width},
                input.options());
  const at::Tensor r = rois.to(AccType(input.scalar_type())).contiguous();
  const cudaError_t err = cuda::LaunchRoIAlignForward(
      CudaType(input.scalar_type()), input.data_ptr(), r.data_ptr(),
      Shape(input.sizes(), rois.size(0), options), out.data_ptr(),
      at::cuda::getCurrentCUDAStream());
  TORCH_CHECK(err == cudaSuccess,
              "RoIAlign: CUDA error: ", cudaGetErrorString(err));
  return out;
#else
  TORCH_CHECK(false,
              "RoIAlign: CUDA tensors need sniper-cpp built against a CUDA "
              "LibTorch (SNIPER_TORCH_PREFIX)");
  return {};
#endif
}

at::Tensor RoIAlignBackward(const at::Tensor& grad_in,
                            const at::Tensor& rois_in,
                            const RoIAlignOptions& options,
                            at::IntArrayRef input_sizes,
                            at::ScalarType input_dtype) {
  const cpu::RoIAlignParams p = CheckOptions(options);
  TORCH_CHECK(input_sizes.size() == 4, "RoIAlignBackward: input sizes ",
              input_sizes, " are not [N, C, H, W]");
  TORCH_CHECK(grad_in.dim() == 4 && grad_in.size(0) == rois_in.size(0) &&
                  grad_in.size(1) == input_sizes[1] &&
                  grad_in.size(2) == p.pooled_height &&
                  grad_in.size(3) == p.pooled_width,
              "RoIAlignBackward: grad_output must be [", rois_in.size(0), ", ",
              input_sizes[1], ", ", p.pooled_height, ", ", p.pooled_width,
              "], got ", grad_in.sizes());
  CheckRois(rois_in, grad_in, input_sizes[0]);
  const at::Tensor grad = grad_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  if (grad.is_cpu()) {
    return cpu::RoIAlignBackwardKernel(grad, rois, p, input_sizes)
        .to(input_dtype);
  }
#ifdef SNIPER_TORCH_HAS_CUDA
  const c10::cuda::CUDAGuard guard(grad.device());
  const at::ScalarType acc = AccType(grad.scalar_type());
  at::Tensor grad_input = at::zeros(input_sizes, grad.options().dtype(acc));
  const at::Tensor r = rois.to(acc).contiguous();
  const cudaError_t err = cuda::LaunchRoIAlignBackward(
      CudaType(grad.scalar_type()), grad.data_ptr(), r.data_ptr(),
      Shape(input_sizes, rois.size(0), options), grad_input.data_ptr(),
      at::cuda::getCurrentCUDAStream());
  TORCH_CHECK(err == cudaSuccess,
              "RoIAlignBackward: CUDA error: ", cudaGetErrorString(err));
  return grad_input.to(input_dtype);
#else
  TORCH_CHECK(false,
              "RoIAlign: CUDA tensors need sniper-cpp built against a CUDA "
              "LibTorch (SNIPER_TORCH_PREFIX)");
  return {};
#endif
}

}  // namespace detail

at::Tensor RoIAlign(const at::Tensor& input, const at::Tensor& rois,
                    const RoIAlignOptions& options) {
  return RoIAlignFunction::apply(input, rois, options.pooled_height,
                                 options.pooled_width, options.spatial_scale,
                                 options.sampling_ratio, options.aligned);
}

}  // namespace sniper::ops
