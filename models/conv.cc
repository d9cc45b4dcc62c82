#include "models/conv.h"

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

}  // namespace sniper::models
