// File: models/faster_rcnn.h
//
// The detector SNIPER trains (SNIPER.md sections 5-6): a ResNet or
// MobileNetV2 backbone (models/backbone.h) at stride 16 (res5 dilated, or
// res4), an RPN over the 21 SNIPER anchors, and a
// 2-fc RCNN head on RoIAlign 7x7 features (or the classic C4 head: res5 on
// RoIAlign 14x14 res4 features) with a class-agnostic box regressor. Training
// forward takes a chip batch with valid boxes and ignore regions and returns
// the four losses; inference returns detections per chip; rpn_only trains/uses
// just the RPN (the short-schedule RPN that mines negative chips). With
// `focus`, AutoFocus's focus branch (../shared/docs/AUTOFOCUS.md) adds a
// fifth loss in training and a FocusPixel probability map per chip in
// inference. With `mask`, Mask R-CNN's mask branch (models/mask_head.h)
// adds a "mask" loss on the foreground RoIs and an M x M mask per
// detection.
//
// Head implementation choice: on these CPUs LibTorch's BLAS (linear layers)
// is slow while oneDNN convolutions are fast, so fc1 and fc2 are 1x1
// convolutions (fc1 over the flattened [R, 256*7*7, 1, 1] RoI features):
// the same arithmetic as two Linear layers. Measured for fc1, 512 rois,
// forward + backward, one thread (//models:faster_rcnn_benchmark):
// Linear 13.7 s, 7x7 convolution 5.0 s, 1x1 convolution 1.9 s.
#ifndef SNIPER_MODELS_FASTER_RCNN_H_
#define SNIPER_MODELS_FASTER_RCNN_H_

#include <torch/torch.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "autofocus/focus_labels.h"
#include "models/backbone.h"
#include "models/conv.h"
#include "models/mask_head.h"
#include "ops/anchors.h"
#include "ops/proposal_layer.h"
#include "ops/roi_align.h"
#include "ops/target_assignment.h"

namespace sniper::models {

// The RCNN head on RoI features.
enum class RcnnHead {
  // 1x1 reduce, RoIAlign 7x7, two fully-connected layers (SNIPER's head).
  kTwoFc,
  // Classic C4: RoIAlign 14x14 on res4, res5 (stride 2) on each RoI,
  // average pool; res5 initializes from the backbone checkpoint.
  kC4,
};

// The loss terms FasterRcnnImpl::Losses returns, by name.
inline constexpr char kRpnClsLoss[] = "rpn_cls";
inline constexpr char kRpnBoxLoss[] = "rpn_box";
inline constexpr char kRcnnClsLoss[] = "rcnn_cls";
inline constexpr char kRcnnBoxLoss[] = "rcnn_box";
inline constexpr char kFocusLoss[] = "focus";
inline constexpr char kMaskLoss[] = "mask";

struct FasterRcnnOptions {
  BackboneOptions backbone;
  RcnnHead head = RcnnHead::kTwoFc;
  int64_t num_classes = 80;  // foreground classes (background added)
  int64_t rpn_channels = 512;
  int64_t rcnn_reduce_channels = 256;
  int64_t rcnn_fc_channels = 1024;
  bool rpn_only = false;
  ops::AnchorOptions anchors;
  ops::ProposalOptions train_proposals = {6000, 300, 0.7, 0.0};
  ops::ProposalOptions test_proposals = {6000, 300, 0.7, 0.0};
  ops::RpnTargetOptions rpn_targets;
  ops::RcnnTargetOptions rcnn_targets;
  // Training proposals whose size lies outside their chip's valid range
  // (ChipTargets::valid_min/max) are dropped before the RCNN targets.
  bool drop_out_of_range_proposals = true;
  ops::RoIAlignOptions roi_align;  // 7x7 (kC4: 14x14), stride 16
  double test_score_threshold = 1e-3;
  double test_nms_threshold = 0.5;
  int64_t test_detections_per_chip = 100;
  // AutoFocus's focus branch: 3x3 conv (focus_channels) + ReLU + 1x1 conv
  // to one logit per stride-16 cell; its loss is weighted by
  // focus_loss_weight. Not built with rpn_only.
  bool focus = false;
  int64_t focus_channels = 256;
  double focus_loss_weight = 1.0;
  // FocusConfig.detach_features / positive_weight (models/model.proto).
  bool focus_detach = false;
  double focus_positive_weight = 1.0;
  autofocus::FocusLabelOptions focus_labels;
  // The mask branch; not built with rpn_only.
  MaskHeadOptions mask;

  bool has_focus() const { return focus && !rpn_only; }
  bool has_mask() const { return mask.enabled && !rpn_only; }
  // The loss terms Losses() returns with these options, in the order they
  // are summed, logged, plotted and checkpointed: rpn_cls, rpn_box, then
  // (unless rpn_only) rcnn_cls, rcnn_box, focus (with the focus branch) and
  // mask (with the mask branch). Everything downstream iterates this list.
  std::vector<std::string> LossNames() const;
};

// Ground truth of one chip, chip pixels.
struct ChipTargets {
  torch::Tensor boxes;   // [G, 4] valid boxes
  torch::Tensor labels;  // [G] int64, 0..num_classes-1
  torch::Tensor ignore;  // [I, 4] ignore regions
  // [I] bool: which ignore regions are crowd regions (focus labels make
  // them don't care whatever their size); undefined: none.
  torch::Tensor ignore_crowd;
  double height = 0, width = 0;  // the chip's valid area
  // The chip scale's valid range of sqrt(w * h), chip pixels: with
  // FasterRcnnOptions::drop_out_of_range_proposals, the RCNN head trains
  // on no proposal outside it (SNIPER.md sections 5 and 10).
  double valid_min = 0;
  double valid_max = std::numeric_limits<double>::infinity();
  // The boxes' segmentations (the mask branch needs them: one per box).
  ChipMasks masks;
};

// The proposal sizes (sqrt of area, chip pixels) that reach a chip's RCNN
// head at inference: [min, max).
struct ProposalSizeRange {
  double min = 0;
  double max = std::numeric_limits<double>::infinity();
};

struct Detections {
  torch::Tensor boxes;   // [D, 4] chip pixels
  torch::Tensor scores;  // [D]
  torch::Tensor labels;  // [D] int64, 0..num_classes-1
  // With the focus branch: [h, w] FocusPixel probabilities, one per
  // stride-16 cell of the input canvas (cell (x, y) covers pixels
  // [16x, 16x + 16) x [16y, 16y + 16)); undefined without it.
  torch::Tensor focus;
  // With the mask branch: [D, M, M] float, each detection's mask
  // probabilities for its class on an M x M grid over its box.
  torch::Tensor masks;
};

// The focus labels of a chip batch: [B, h, w] int8 (1 positive, 0
// negative, -1 don't care) on an h x w cell grid; cells beyond a chip's
// valid extent are don't care. Every valid box and ignore region of a chip
// counts as its ground truth (a box out of the chip's valid range is
// exactly what the focus map must find at a coarser scale).
torch::Tensor FocusTargets(const std::vector<ChipTargets>& targets, int64_t h,
                           int64_t w,
                           const autofocus::FocusLabelOptions& options);

class FasterRcnnImpl : public torch::nn::Module {
 public:
  explicit FasterRcnnImpl(const FasterRcnnOptions& options);

  // The weighted loss terms named by options().LossNames(), exactly those,
  // for a chip batch [B, 3, H, W] and its B targets. `seed` drives the
  // target sampling.
  // `first_chip`: the batch's position in a larger (data-parallel) batch,
  // so each chip's target sampling is the same whichever process runs it.
  std::map<std::string, torch::Tensor> Losses(
      const torch::Tensor& images, const std::vector<ChipTargets>& targets,
      uint64_t seed, int64_t first_chip = 0);

  // Detections per chip (rpn_only: proposals with objectness scores, label
  // 0). `sizes` are the chips' valid (height, width). `proposals` replaces
  // options().test_proposals for this call (AutoFocus gives a FocusChip
  // its share of the image's proposals). `proposal_sizes`, one per chip:
  // only proposals of that size reach the RCNN head (multi-scale
  // inference keeps a scale's detections in its valid range only).
  std::vector<Detections> Detect(
      const torch::Tensor& images,
      const std::vector<std::pair<double, double>>& sizes,
      const ops::ProposalOptions* proposals = nullptr,
      const std::vector<ProposalSizeRange>* proposal_sizes = nullptr);

  const FasterRcnnOptions& options() const { return options_; }
  std::shared_ptr<BackboneImpl> backbone() const { return backbone_; }

 private:
  torch::Tensor Features(const torch::Tensor& images);
  // RPN outputs: objectness logits [B, A, h, w], deltas [B, 4A, h, w].
  std::pair<torch::Tensor, torch::Tensor> Rpn(const torch::Tensor& features);
  // Focus logits [B, h, w], float32.
  torch::Tensor Focus(const torch::Tensor& features);
  // What the RoI heads pool from: the reduced features (2fc) or the
  // features themselves (C4).
  torch::Tensor HeadInput(const torch::Tensor& features);
  struct RcnnOutputs {
    torch::Tensor cls;   // [R, K+1] class logits
    torch::Tensor box;   // [R, 4] box deltas
    torch::Tensor res5;  // C4: [R, C, 7, 7] res5 on the RoIs
  };
  // RCNN head on rois [R, 5].
  RcnnOutputs Rcnn(const torch::Tensor& head_input, const torch::Tensor& rois);
  // Mask logits [R, K, M, M] for rois [R, 5]; C4 may pass the RoIs' res5
  // output instead of pooling again.
  torch::Tensor MaskLogits(const torch::Tensor& head_input,
                           const torch::Tensor& rois,
                           const torch::Tensor& res5 = torch::Tensor());
  // The "mask" loss of the sampled RoIs (all_rois [R, 5] with labels and
  // matched boxes per RoI).
  // The RCNN head's losses (and the mask branch's) on the RPN's proposals
  // for `targets`, added to `losses`.
  void RcnnLosses(const torch::Tensor& f, const torch::Tensor& logits,
                  const torch::Tensor& deltas, const torch::Tensor& anchors,
                  const std::vector<ChipTargets>& targets, uint64_t seed,
                  int64_t first_chip,
                  std::map<std::string, torch::Tensor>& losses);
  torch::Tensor MaskBranchLoss(const torch::Tensor& head_input,
                               const std::vector<ChipTargets>& targets,
                               const torch::Tensor& all_rois,
                               const torch::Tensor& all_labels,
                               const torch::Tensor& all_gt_index,
                               const torch::Tensor& res5);
  // Fills each detection's mask (Detections::masks).
  void DetectMasks(const torch::Tensor& head_input,
                   std::vector<Detections>* out);

  FasterRcnnOptions options_;
  std::shared_ptr<BackboneImpl> backbone_;
  Conv2d rpn_conv_{nullptr}, rpn_cls_{nullptr}, rpn_box_{nullptr};
  Conv2d rcnn_reduce_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Linear cls_score_{nullptr}, bbox_pred_{nullptr};
  Conv2d focus_conv_{nullptr}, focus_out_{nullptr};
  MaskHead mask_head_{nullptr};
  ops::RoIAlignOptions mask_align_;
};
TORCH_MODULE(FasterRcnn);

// Sum over elements of the smooth-L1 loss of a - b: 0.5 x^2 / beta where
// |x| < beta, |x| - beta / 2 elsewhere. The RPN uses beta 1/9 and the RCNN
// head 1 (Detectron, torchvision).
torch::Tensor SmoothL1Sum(const torch::Tensor& a, const torch::Tensor& b,
                          double beta);

// The rows of `boxes` [N, 4] whose sqrt(w * h) lies in [min_size,
// max_size): the training proposals a chip's scale keeps.
torch::Tensor BoxesInSizeRange(const torch::Tensor& boxes, double min_size,
                               double max_size);

// The rows of `proposals` [R, 5] (chip index, x1, y1, x2, y2) whose
// sqrt(w * h) lies in their chip's range (`ranges`, one per chip): the
// test proposals that reach the RCNN head.
torch::Tensor KeepProposalSizes(const torch::Tensor& proposals,
                                const std::vector<ProposalSizeRange>& ranges);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_FASTER_RCNN_H_
