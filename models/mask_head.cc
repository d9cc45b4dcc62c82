// File: models/mask_head.cc
#include "models/mask_head.h"

#include <utility>

namespace sniper::models {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// [R, K, M, M] at channel classes[r] of each row -> [R, M, M].
torch::Tensor MaskLogitsOf(const torch::Tensor& logits,
                           const torch::Tensor& classes) {
  TORCH_CHECK(logits.dim() == 4 && classes.dim() == 1 &&
                  classes.size(0) == logits.size(0),
              "mask head: logits ", logits.sizes(), " and classes ",
              classes.sizes(), " do not match");
  const torch::Tensor rows =
      torch::arange(logits.size(0), classes.options().dtype(torch::kLong));
  return logits.index({rows, classes.to(torch::kLong)});
}

}  // namespace

torch::Tensor PixelShuffle2(const torch::Tensor& x) {
  const int64_t r = x.size(0), c = x.size(1) / 4, h = x.size(2), w = x.size(3);
  return x.reshape({r, c, 2, 2, h, w})
      .permute({0, 1, 4, 2, 5, 3})
      .reshape({r, c, 2 * h, 2 * w});
}

MaskHeadImpl::MaskHeadImpl(int64_t in_channels, int64_t num_classes,
                           const MaskHeadOptions& o, bool from_res5) {
  int64_t c = in_channels;
  if (!from_res5) {
    for (int64_t i = 0; i < o.convs; ++i) {
      convs_.push_back(register_module(
          "conv" + std::to_string(i + 1),
          Conv2d(nn::Conv2dOptions(c, o.channels, 3).padding(1))));
      c = o.channels;
    }
  }
  upsample_ = register_module("upsample",
                              Conv2d(nn::Conv2dOptions(c, 4 * o.channels, 1)));
  predictor_ = register_module(
      "predictor", Conv2d(nn::Conv2dOptions(o.channels, num_classes, 1)));
  // Mask R-CNN's initialisation: MSRA (fan out) for the hidden layers, a
  // small normal for the predictor.
  for (auto& conv : convs_) {
    nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    nn::init::zeros_(conv->bias);
  }
  nn::init::kaiming_normal_(upsample_->weight, 0.0, torch::kFanOut,
                            torch::kReLU);
  nn::init::zeros_(upsample_->bias);
  nn::init::normal_(predictor_->weight, 0.0, 0.001);
  nn::init::zeros_(predictor_->bias);
}

torch::Tensor MaskHeadImpl::forward(const torch::Tensor& roi_features) {
  torch::Tensor x = roi_features;
  for (auto& conv : convs_) x = torch::relu(conv(x));
  x = torch::relu(PixelShuffle2(upsample_(x)));
  return predictor_(x).to(torch::kFloat);
}

std::pair<torch::Tensor, torch::Tensor> MaskTargets(
    const ChipMasks& chip, const torch::Tensor& rois,
    const torch::Tensor& gt_index, int64_t m) {
  const torch::Tensor boxes = rois.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor match =
      gt_index.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t r = boxes.size(0);
  TORCH_CHECK(match.numel() == r, "MaskTargets: ", r, " rois but ",
              match.numel(), " matches");
  torch::Tensor targets = torch::zeros({r, m, m});
  torch::Tensor usable = torch::zeros({r}, torch::kBool);
  const double* b = boxes.data_ptr<double>();
  const int64_t* g = match.data_ptr<int64_t>();
  float* t = targets.data_ptr<float>();
  const int64_t n = static_cast<int64_t>(chip.segmentations.size());
  for (int64_t i = 0; i < r; ++i) {
    TORCH_CHECK(g[i] >= 0 && g[i] < n, "MaskTargets: RoI ", i,
                " is matched to box ", g[i], " of ", n);
    const masks::Segmentation* s = chip.segmentations[g[i]];
    if (s == nullptr || s->kind == masks::Segmentation::Kind::kNone) continue;
    usable.data_ptr<bool>()[i] = true;
    const std::vector<uint8_t> cells = masks::ChipMaskTarget(
        *s, chip.frame, {b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]},
        static_cast<int32_t>(m));
    for (int64_t k = 0; k < m * m; ++k) t[i * m * m + k] = cells[k];
  }
  return {targets, usable};
}

torch::Tensor MaskLoss(const torch::Tensor& logits,
                       const torch::Tensor& classes,
                       const torch::Tensor& targets) {
  if (logits.size(0) == 0) return logits.sum() * 0;
  const torch::Tensor mine = MaskLogitsOf(logits, classes);
  return F::binary_cross_entropy_with_logits(
      mine, targets.to(mine.device(), mine.scalar_type()));
}

torch::Tensor MaskProbabilities(const torch::Tensor& logits,
                                const torch::Tensor& classes) {
  if (logits.size(0) == 0) {
    return torch::zeros({0, logits.size(2), logits.size(3)}, logits.options());
  }
  return torch::sigmoid(MaskLogitsOf(logits, classes));
}

}  // namespace sniper::models
