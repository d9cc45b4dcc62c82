#include "models/conv.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sniper::models {

bool Conv2dImpl::RunsOneDnnDirectly(const torch::Tensor& input) const {
  // Symmetric zero padding (what every model here builds), read from the
  // padding LibTorch derived from the options: [w, w, h, h].
  const std::vector<int64_t>& pad = _reversed_padding_repeated_twice;
  return at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() &&
         !torch::GradMode::is_enabled() && input.device().is_cpu() &&
         input.scalar_type() == torch::kFloat && input.dim() == 4 &&
         weight.scalar_type() == torch::kFloat && !options.transposed() &&
         torch::enumtype::get_enum_name(options.padding_mode()) == "kZeros" &&
         pad.size() == 4 && pad[0] == pad[1] && pad[2] == pad[3];
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& input) {
  if (!RunsOneDnnDirectly(input)) {
    return torch::nn::Conv2dImpl::forward(input);
  }
  return RunOneDnn(input, weight, bias);
}

torch::Tensor Conv2dImpl::RunOneDnn(const torch::Tensor& input,
                                    const torch::Tensor& w,
                                    const torch::Tensor& b) const {
  const std::vector<int64_t>& pad = _reversed_padding_repeated_twice;
  return at::mkldnn_convolution(
      input, w,
      b.defined() ? c10::optional<at::Tensor>(b) : c10::optional<at::Tensor>(),
      {pad[2], pad[0]}, *options.stride(), *options.dilation(),
      options.groups());
}

torch::Tensor ReluOfTemporary(torch::Tensor x) {
  return torch::GradMode::is_enabled() ? torch::relu(x) : x.relu_();
}

torch::Tensor Relu6OfTemporary(torch::Tensor x) {
  return torch::GradMode::is_enabled() ? torch::hardtanh(x, 0.0, 6.0)
                                       : torch::hardtanh_(x, 0.0, 6.0);
}

torch::Tensor AddReluOfTemporary(torch::Tensor x, const torch::Tensor& y) {
  // In place only where x + y has x's dtype and shape.
  const bool in_place = !torch::GradMode::is_enabled() &&
                        x.scalar_type() == y.scalar_type() &&
                        x.sizes() == y.sizes();
  return in_place ? x.add_(y).relu_() : torch::relu(x + y);
}

torch::Tensor Conv2dImpl::ForwardWithBatchNorm(const torch::Tensor& input,
                                               torch::nn::BatchNorm2dImpl& bn) {
  TORCH_CHECK(!bn.is_training() && bn.options.track_running_stats() &&
                  bn.running_mean.defined() && bn.running_var.defined(),
              "Conv2d::ForwardWithBatchNorm: the batch norm must be in eval "
              "mode with running statistics");
  static const bool fold = [] {
    const char* env = std::getenv("SNIPER_FOLD_BATCH_NORM");
    return env == nullptr || std::string(env) != "0";
  }();
  if (!fold || !RunsOneDnnDirectly(input)) return bn.forward(forward(input));
  FoldKey key;
  for (const torch::Tensor* t : {&weight, &bias, &bn.weight, &bn.bias,
                                 &bn.running_mean, &bn.running_var}) {
    key.emplace_back(t->defined() ? t->unsafeGetTensorImpl() : nullptr,
                     t->defined() ? t->_version() : -1);
  }
  std::shared_ptr<const Folded> folded = std::atomic_load(&folded_);
  if (folded == nullptr || folded->key != key) {
    auto f = std::make_shared<Folded>();
    f->key = std::move(key);
    // In float64: scale = gamma / sqrt(var + eps), per output channel.
    const torch::Tensor var = bn.running_var.to(torch::kDouble);
    const torch::Tensor mean = bn.running_mean.to(torch::kDouble);
    torch::Tensor scale = (var + bn.options.eps()).rsqrt();
    if (bn.weight.defined()) scale = scale * bn.weight.to(torch::kDouble);
    torch::Tensor shift =
        bias.defined() ? bias.to(torch::kDouble) - mean : -mean;
    shift = shift * scale;
    if (bn.bias.defined()) shift = shift + bn.bias.to(torch::kDouble);
    const std::vector<int64_t> per_channel = {-1, 1, 1, 1};
    f->weight = (weight.to(torch::kDouble) * scale.view(per_channel))
                    .to(torch::kFloat)
                    .contiguous(weight.suggest_memory_format());
    f->bias = shift.to(torch::kFloat).contiguous();
    folded = f;
    std::atomic_store(&folded_, folded);
  }
  return RunOneDnn(input, folded->weight, folded->bias);
}

}  // namespace sniper::models
