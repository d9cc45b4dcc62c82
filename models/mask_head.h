// File: models/mask_head.h
//
// Mask R-CNN's mask branch on SNIPER chips (issue #24): per RoI one mask of
// M x M cells per class, per-class sigmoid, trained with binary
// cross-entropy on the RoI's ground-truth class only.
//   2fc detector: RoIAlign (M/2) x (M/2) on the RCNN head's reduced
//     features, `convs` 3x3 convolutions + ReLU, a 2x upsampling + ReLU,
//     a 1x1 convolution to one logit map per class (Mask R-CNN's head);
//   C4 detector: res5 on the RoIs (7 x 7 from 14 x 14) through the 2x
//     upsampling + ReLU and the per-class 1x1 convolution (M = 14).
// The upsampling is Mask R-CNN's 2x2 stride-2 deconvolution computed as a
// 1x1 convolution to 4x the channels and a pixel shuffle: the same
// function (the 2x2 output blocks do not overlap), but LibTorch's CPU
// ConvTranspose2d is slow: 256 RoIs, forward + backward, one thread
// (//models:faster_rcnn_benchmark): 64 channels 1.31 s vs 0.33 s, 256
// channels 18.9 s vs 1.88 s.
// Targets come from the ground truth's segmentation in image pixels, cut
// to each RoI in chip pixels (masks/roi_target.h): exact at every scale,
// no mask rasterised at chip or image size.
#ifndef SNIPER_MODELS_MASK_HEAD_H_
#define SNIPER_MODELS_MASK_HEAD_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "masks/roi_target.h"
#include "masks/segmentation.h"
#include "models/conv.h"

namespace sniper::models {

struct MaskHeadOptions {
  bool enabled = false;
  int64_t channels = 256;
  int64_t convs = 4;        // 3x3 convolutions (2fc detector only)
  int64_t resolution = 28;  // M; C4: 2 x the res5 output side
  double loss_weight = 1.0;
};

// Pixel shuffle by 2 ([R, 4C, H, W] -> [R, C, 2H, 2W], channel c * 4 +
// 2 i + j to offset (i, j)) by view and permute: torch::pixel_shuffle's
// backward in LibTorch 1.13 fails on an empty batch (a step without
// foreground RoIs).
torch::Tensor PixelShuffle2(const torch::Tensor& x);

class MaskHeadImpl : public torch::nn::Module {
 public:
  // `in_channels`: the RoI features' channels; `from_res5`: the C4 form
  // (no 3x3 convolutions).
  MaskHeadImpl(int64_t in_channels, int64_t num_classes,
               const MaskHeadOptions& options, bool from_res5);

  // RoI features [R, C, M/2, M/2] -> mask logits [R, K, M, M], float32.
  torch::Tensor forward(const torch::Tensor& roi_features);

 private:
  std::vector<Conv2d> convs_;
  Conv2d upsample_{nullptr};  // to 4 x channels, then shuffled
  Conv2d predictor_{nullptr};
};
TORCH_MODULE(MaskHead);

// A chip's instance masks: per valid box (ChipTargets::boxes' order) its
// segmentation in image pixels (nullptr: none; the box does not train the
// mask), and where the chip's pixels come from.
struct ChipMasks {
  std::vector<const masks::Segmentation*> segmentations;
  masks::ChipFrame frame;
};

// Mask targets [R, M, M] (float 0/1, CPU) of foreground RoIs `rois`
// ([R, 4] chip pixels) matched to valid boxes `gt_index` ([R] int64), and
// [R] bool: which have a segmentation to learn from.
std::pair<torch::Tensor, torch::Tensor> MaskTargets(
    const ChipMasks& chip, const torch::Tensor& rois,
    const torch::Tensor& gt_index, int64_t m);

// The mask loss: mean binary cross-entropy over the M x M cells of each
// RoI's channel `classes` ([R] int64, 0..K-1) of `logits` [R, K, M, M]
// against `targets` [R, M, M]; 0 (with a gradient path) for R = 0.
torch::Tensor MaskLoss(const torch::Tensor& logits,
                       const torch::Tensor& classes,
                       const torch::Tensor& targets);

// Per RoI the probability map of its class: sigmoid of `logits`
// [R, K, M, M] at `classes` [R] -> [R, M, M].
torch::Tensor MaskProbabilities(const torch::Tensor& logits,
                                const torch::Tensor& classes);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_MASK_HEAD_H_
