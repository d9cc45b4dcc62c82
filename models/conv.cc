#include "models/conv.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
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
  const std::vector<int64_t>& pad = _reversed_padding_repeated_twice;
  const std::vector<int64_t> padding = {pad[2], pad[0]};
  return at::mkldnn_convolution(input, weight,
                                bias.defined() ? c10::optional<at::Tensor>(bias)
                                               : c10::optional<at::Tensor>(),
                                padding, *options.stride(), *options.dilation(),
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

std::vector<torch::Tensor> Conv2dImpl::FoldSources(
    const torch::nn::BatchNorm2dImpl& bn) const {
  return {weight, bias, bn.weight, bn.bias, bn.running_mean, bn.running_var};
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
  const std::vector<torch::Tensor> sources = FoldSources(bn);
  std::shared_ptr<const Folded> folded = std::atomic_load(&folded_);
  auto current = [&sources](const Folded& f) {
    if (f.sources.size() != sources.size()) return false;
    for (size_t k = 0; k < sources.size(); ++k) {
      const torch::Tensor& t = sources[k];
      if (f.sources[k] != (t.defined() ? t.unsafeGetTensorImpl() : nullptr) ||
          f.versions[k] != (t.defined() ? t._version() : -1)) {
        return false;
      }
    }
    return true;
  };
  if (folded == nullptr || !current(*folded)) {
    auto f = std::make_shared<Folded>();
    for (const torch::Tensor& t : sources) {
      f->sources.push_back(t.defined() ? t.unsafeGetTensorImpl() : nullptr);
      f->versions.push_back(t.defined() ? t._version() : -1);
    }
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
  const std::vector<int64_t>& pad = _reversed_padding_repeated_twice;
  return at::mkldnn_convolution(input, folded->weight, folded->bias,
                                {pad[2], pad[0]}, *options.stride(),
                                *options.dilation(), options.groups());
}

}  // namespace sniper::models
