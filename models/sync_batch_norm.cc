#include "models/sync_batch_norm.h"

#include <cstdint>

namespace sniper::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = weight * (x - mean) * invstd + bias with global statistics.
class SyncBatchNormFunction
    : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias,
                               torch::Tensor running_mean,
                               torch::Tensor running_var, double momentum,
                               double eps, const BatchNormSync* sync) {
    const int64_t c = x.size(1);
    const torch::Tensor xd = x.to(torch::kFloat64);
    // Per channel: count, sum, sum of squares, summed over processes.
    torch::Tensor stats = torch::empty({2 * c + 1}, torch::kFloat64);
    stats.narrow(0, 0, c).copy_(xd.sum({0, 2, 3}));
    stats.narrow(0, c, c).copy_((xd * xd).sum({0, 2, 3}));
    stats[2 * c] = static_cast<double>(x.numel() / c);
    sync->AllReduce(stats);
    const double n = stats[2 * c].item<double>();
    const torch::Tensor mean = stats.narrow(0, 0, c) / n;
    const torch::Tensor var =
        (stats.narrow(0, c, c) / n - mean * mean).clamp_min(0);
    {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - momentum)
          .add_(mean.to(running_mean.dtype()), momentum);
      running_var.mul_(1 - momentum)
          .add_((var * (n / std::max(n - 1, 1.0))).to(running_var.dtype()),
                momentum);
    }
    const torch::Tensor invstd = (var + eps).rsqrt();
    const torch::Tensor xhat =
        ((xd - mean.view({1, c, 1, 1})) * invstd.view({1, c, 1, 1}))
            .to(x.scalar_type());
    ctx->save_for_backward({xhat, weight, invstd});
    ctx->saved_data["n"] = n;
    // The synchronizer for backward: the model owns it and outlives the
    // step (saved_data holds IValues, so its address as an integer).
    ctx->saved_data["sync"] =
        static_cast<int64_t>(reinterpret_cast<std::intptr_t>(sync));
    return xhat * weight.view({1, c, 1, 1}) + bias.view({1, c, 1, 1});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& xhat = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& invstd = saved[2];
    const double n = ctx->saved_data["n"].toDouble();
    const torch::Tensor dy = grads[0];
    const int64_t c = xhat.size(1);
    // Local parameter gradients (the trainer averages them over processes).
    const torch::Tensor dbias = dy.sum({0, 2, 3});
    const torch::Tensor dweight = (dy * xhat).sum({0, 2, 3});
    // The input gradient needs the global sums of dy and dy * xhat.
    torch::Tensor sums = torch::cat({dbias, dweight}).to(torch::kFloat64);
    const auto* sync = reinterpret_cast<const BatchNormSync*>(
        static_cast<std::intptr_t>(ctx->saved_data["sync"].toInt()));
    sync->AllReduce(sums);
    const torch::Tensor sum_dy = sums.narrow(0, 0, c).to(dy.scalar_type());
    const torch::Tensor sum_dy_xhat = sums.narrow(0, c, c).to(dy.scalar_type());
    const torch::Tensor scale =
        (weight * invstd.to(weight.scalar_type()) / n).view({1, c, 1, 1});
    const torch::Tensor dx = scale * (n * dy - sum_dy.view({1, c, 1, 1}) -
                                      xhat * sum_dy_xhat.view({1, c, 1, 1}));
    return {dx,
            dweight,
            dbias,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor BatchNorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                        const BatchNormSync* sync) {
  if (sync != nullptr && !bn.is_training() && sync->eval_batch_statistics()) {
    return torch::batch_norm(x, bn.weight, bn.bias, /*running_mean=*/{},
                             /*running_var=*/{}, /*training=*/true,
                             /*momentum=*/0.0, bn.options.eps(),
                             at::globalContext().userEnabledCuDNN());
  }
  if (sync == nullptr || !sync->active() || !bn.is_training()) {
    return bn.forward(x);
  }
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked.add_(1);
  }
  return SyncBatchNormFunction::apply(
      x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
      bn.options.momentum().value(), bn.options.eps(), sync);
}

torch::Tensor ConvBatchNorm(Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                            const torch::Tensor& x, const BatchNormSync* sync) {
  const bool running_statistics =
      !bn.is_training() && bn.options.track_running_stats() &&
      !(sync != nullptr && sync->eval_batch_statistics());
  if (running_statistics) return conv.ForwardWithBatchNorm(x, bn);
  return BatchNorm(bn, conv.forward(x), sync);
}

}  // namespace sniper::models
