#include "models/faster_rcnn.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "models/mobilenet_v2.h"
#include "models/resnet.h"
#include "ops/box_coder.h"
#include "ops/nms.h"

namespace sniper::models {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

}  // namespace

torch::Tensor SmoothL1Sum(const torch::Tensor& a, const torch::Tensor& b,
                          double beta) {
  // Not F::smooth_l1_loss: LibTorch 1.13's ignores the options' beta (it
  // passes its own default 1), 2.x honours it.
  return torch::smooth_l1_loss(a, b, at::Reduction::Sum, beta);
}

namespace {

// sqrt(w * h) of boxes [N, 4] (x1, y1, x2, y2); 0 for degenerate ones.
torch::Tensor SqrtAreas(const torch::Tensor& boxes) {
  return ((boxes.select(1, 2) - boxes.select(1, 0)) *
          (boxes.select(1, 3) - boxes.select(1, 1)))
      .clamp_min(0)
      .sqrt();
}

}  // namespace

torch::Tensor BoxesInSizeRange(const torch::Tensor& boxes, double min_size,
                               double max_size) {
  if (boxes.size(0) == 0 || (min_size <= 0 && std::isinf(max_size))) {
    return boxes;
  }
  const torch::Tensor size = SqrtAreas(boxes);
  return boxes.index_select(
      0, ((size >= min_size) & (size < max_size)).nonzero().view(-1));
}

torch::Tensor KeepProposalSizes(const torch::Tensor& proposals,
                                const std::vector<ProposalSizeRange>& ranges) {
  std::vector<float> lo, hi;
  for (const ProposalSizeRange& r : ranges) {
    lo.push_back(static_cast<float>(r.min));
    hi.push_back(static_cast<float>(r.max));
  }
  const torch::Tensor p = proposals.to(torch::kFloat);
  const torch::Tensor chip = p.select(1, 0).to(torch::kLong);
  const torch::Tensor size = SqrtAreas(p.slice(1, 1, 5));
  const auto on = [&p](const std::vector<float>& v) {
    return torch::tensor(v, torch::kFloat).to(p.device());
  };
  const torch::Tensor keep = (size >= on(lo).index_select(0, chip)) &
                             (size < on(hi).index_select(0, chip));
  return proposals.index_select(0, keep.nonzero().view(-1));
}

std::vector<std::string> FasterRcnnOptions::LossNames() const {
  std::vector<std::string> names = {kRpnClsLoss, kRpnBoxLoss};
  if (rpn_only) return names;
  names.insert(names.end(), {kRcnnClsLoss, kRcnnBoxLoss});
  if (has_focus()) names.push_back(kFocusLoss);
  if (has_mask()) names.push_back(kMaskLoss);
  return names;
}

namespace {

std::shared_ptr<BackboneImpl> MakeBackbone(const BackboneOptions& o) {
  if (o.type == BackboneType::kMobileNetV2) {
    return std::make_shared<MobileNetV2Impl>(o);
  }
  return std::make_shared<ResNetImpl>(o);
}

}  // namespace

FasterRcnnImpl::FasterRcnnImpl(const FasterRcnnOptions& o) : options_(o) {
  // Stride-16 features: dilated res5, or res4 (then res5 is not built: it
  // would cost compute and receive no gradient).
  const bool c4 = o.head == RcnnHead::kC4 && !o.rpn_only;
  const bool dilated =
      !c4 && o.backbone.res5_dilation &&
      (o.backbone.type == BackboneType::kMobileNetV2 || o.backbone.depth >= 50);
  options_.backbone.stages = dilated || c4 ? 4 : 3;
  options_.backbone.res5_as_head = c4;
  backbone_ = register_module("backbone", MakeBackbone(options_.backbone));
  TORCH_CHECK(backbone_->feature_stride() == 16,
              "FasterRcnn: features must be at stride 16");
  const int64_t c = backbone_->feature_channels();
  const int64_t a = o.anchors.num_anchors();
  rpn_conv_ = register_module(
      "rpn_conv", Conv2d(nn::Conv2dOptions(c, o.rpn_channels, 3).padding(1)));
  rpn_cls_ = register_module("rpn_cls",
                             Conv2d(nn::Conv2dOptions(o.rpn_channels, a, 1)));
  rpn_box_ = register_module(
      "rpn_box", Conv2d(nn::Conv2dOptions(o.rpn_channels, 4 * a, 1)));
  for (auto* m : {&rpn_conv_, &rpn_cls_, &rpn_box_}) {
    nn::init::normal_((*m)->weight, 0.0, 0.01);
    nn::init::zeros_((*m)->bias);
  }
  if (c4) {
    const int64_t channels = backbone_->head_channels();
    cls_score_ =
        register_module("cls_score", nn::Linear(channels, o.num_classes + 1));
    bbox_pred_ = register_module("bbox_pred", nn::Linear(channels, 4));
  } else if (!o.rpn_only) {
    const int64_t pooled = o.roi_align.pooled_height;
    TORCH_CHECK(o.roi_align.pooled_height == o.roi_align.pooled_width,
                "FasterRcnn: square RoIAlign output expected");
    rcnn_reduce_ = register_module(
        "rcnn_reduce", Conv2d(nn::Conv2dOptions(c, o.rcnn_reduce_channels, 1)));
    fc1_ = register_module("fc1", Conv2d(nn::Conv2dOptions(
                                      o.rcnn_reduce_channels * pooled * pooled,
                                      o.rcnn_fc_channels, 1)));
    fc2_ = register_module(
        "fc2",
        Conv2d(nn::Conv2dOptions(o.rcnn_fc_channels, o.rcnn_fc_channels, 1)));
    cls_score_ = register_module(
        "cls_score", nn::Linear(o.rcnn_fc_channels, o.num_classes + 1));
    bbox_pred_ =
        register_module("bbox_pred", nn::Linear(o.rcnn_fc_channels, 4));
  }
  if (o.has_focus()) {
    focus_conv_ = register_module(
        "focus_conv",
        Conv2d(nn::Conv2dOptions(c, o.focus_channels, 3).padding(1)));
    focus_out_ = register_module(
        "focus_out", Conv2d(nn::Conv2dOptions(o.focus_channels, 1, 1)));
    for (auto* m : {&focus_conv_, &focus_out_}) {
      nn::init::normal_((*m)->weight, 0.0, 0.01);
      nn::init::zeros_((*m)->bias);
    }
  }
  if (o.has_mask()) {
    const int64_t m = o.mask.resolution;
    TORCH_CHECK(m >= 2 && m % 2 == 0,
                "FasterRcnn: the mask resolution must be even, got ", m);
    if (c4) {
      TORCH_CHECK(m == 2 * ((o.roi_align.pooled_height + 1) / 2),
                  "FasterRcnn: with the C4 head the mask resolution is twice "
                  "res5's RoI output, ",
                  2 * ((o.roi_align.pooled_height + 1) / 2), ", got ", m);
    }
    mask_align_ = o.roi_align;
    mask_align_.pooled_height = mask_align_.pooled_width = m / 2;
    mask_head_ = register_module(
        "mask_head",
        MaskHead(c4 ? backbone_->head_channels() : o.rcnn_reduce_channels,
                 o.num_classes, o.mask, /*from_res5=*/c4));
  }
  if (!o.rpn_only) {
    nn::init::normal_(cls_score_->weight, 0.0, 0.01);
    nn::init::zeros_(cls_score_->bias);
    nn::init::normal_(bbox_pred_->weight, 0.0, 0.001);
    nn::init::zeros_(bbox_pred_->bias);
  }
}

torch::Tensor FasterRcnnImpl::Features(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3,
              "FasterRcnn: images must be [B, 3, H, W], got ", images.sizes());
  return backbone_->Features(images);
}

std::pair<torch::Tensor, torch::Tensor> FasterRcnnImpl::Rpn(
    const torch::Tensor& f) {
  const torch::Tensor x = ReluOfTemporary(rpn_conv_(f));
  // float32 out of the network's layers (they may run in bf16/fp16 under
  // autocast): the proposal layer, target assignment and losses take it.
  return {rpn_cls_(x).to(torch::kFloat), rpn_box_(x).to(torch::kFloat)};
}

torch::Tensor FasterRcnnImpl::Focus(const torch::Tensor& f) {
  return focus_out_(ReluOfTemporary(focus_conv_(f)))
      .select(1, 0)
      .to(torch::kFloat);
}

torch::Tensor FocusTargets(const std::vector<ChipTargets>& targets, int64_t h,
                           int64_t w,
                           const autofocus::FocusLabelOptions& options) {
  const int64_t b = static_cast<int64_t>(targets.size());
  torch::Tensor out = torch::full({b, h, w}, autofocus::kFocusDontCare,
                                  torch::TensorOptions().dtype(torch::kInt8));
  std::vector<autofocus::LabelBox> boxes;
  for (int64_t i = 0; i < b; ++i) {
    const ChipTargets& t = targets[i];
    boxes.clear();
    auto add = [&boxes](const torch::Tensor& xyxy, const torch::Tensor& crowd) {
      if (!xyxy.defined() || xyxy.numel() == 0) return;
      const torch::Tensor c = xyxy.to(torch::kCPU, torch::kFloat).contiguous();
      const torch::Tensor k =
          crowd.defined() ? crowd.to(torch::kCPU, torch::kBool).contiguous()
                          : torch::zeros({c.size(0)}, torch::kBool);
      const float* p = c.data_ptr<float>();
      const bool* q = k.data_ptr<bool>();
      for (int64_t j = 0; j < c.size(0); ++j) {
        boxes.push_back(
            {p[4 * j], p[4 * j + 1], p[4 * j + 2], p[4 * j + 3], q[j]});
      }
    };
    add(t.boxes, torch::Tensor());
    add(t.ignore, t.ignore_crowd);
    const autofocus::FocusLabels l = autofocus::MakeFocusLabels(
        boxes, static_cast<int32_t>(std::ceil(t.width)),
        static_cast<int32_t>(std::ceil(t.height)), options);
    const int64_t lh = std::min<int64_t>(h, l.height);
    const int64_t lw = std::min<int64_t>(w, l.width);
    auto grid = out.accessor<int8_t, 3>();
    for (int64_t y = 0; y < lh; ++y) {
      for (int64_t x = 0; x < lw; ++x) grid[i][y][x] = l.at(x, y);
    }
  }
  return out;
}

torch::Tensor FasterRcnnImpl::HeadInput(const torch::Tensor& f) {
  if (options_.head == RcnnHead::kC4) return f;
  return ReluOfTemporary(rcnn_reduce_(f));
}

FasterRcnnImpl::RcnnOutputs FasterRcnnImpl::Rcnn(const torch::Tensor& input,
                                                 const torch::Tensor& rois) {
  const torch::Tensor pooled = ops::RoIAlign(
      input.to(torch::kFloat), rois.to(torch::kFloat), options_.roi_align);
  if (options_.head == RcnnHead::kC4) {
    torch::Tensor res5 = backbone_->RunHead(pooled);
    const torch::Tensor x = res5.mean({2, 3});
    return {cls_score_(x).to(torch::kFloat), bbox_pred_(x).to(torch::kFloat),
            std::move(res5)};
  }
  // fc1 as a 1x1 convolution over the flattened [R, C*7*7, 1, 1] features
  // (sizes spelled out: R may be 0).
  torch::Tensor x = ReluOfTemporary(fc1_(pooled.reshape(
      {pooled.size(0), pooled.size(1) * pooled.size(2) * pooled.size(3), 1,
       1})));
  x = ReluOfTemporary(fc2_(x)).flatten(1);
  return {cls_score_(x).to(torch::kFloat), bbox_pred_(x).to(torch::kFloat),
          torch::Tensor()};
}

torch::Tensor FasterRcnnImpl::MaskLogits(const torch::Tensor& input,
                                         const torch::Tensor& rois,
                                         const torch::Tensor& res5) {
  if (options_.head == RcnnHead::kC4) {
    if (res5.defined()) return mask_head_(res5);
    return mask_head_(backbone_->RunHead(ops::RoIAlign(
        input.to(torch::kFloat), rois.to(torch::kFloat), options_.roi_align)));
  }
  return mask_head_(ops::RoIAlign(input.to(torch::kFloat),
                                  rois.to(torch::kFloat), mask_align_));
}

torch::Tensor FasterRcnnImpl::MaskBranchLoss(
    const torch::Tensor& input, const std::vector<ChipTargets>& targets,
    const torch::Tensor& all_rois, const torch::Tensor& all_labels,
    const torch::Tensor& all_gt_index, const torch::Tensor& res5) {
  const int64_t m = options_.mask.resolution;
  const torch::Tensor fg = (all_labels > 0).nonzero().view(-1);
  const torch::Tensor fg_rois = all_rois.index_select(0, fg);
  const torch::Tensor fg_chip =
      fg_rois.select(1, 0).to(torch::kCPU, torch::kLong);
  const torch::Tensor fg_match = all_gt_index.index_select(0, fg).cpu();
  const torch::Tensor fg_boxes = fg_rois.slice(1, 1, 5).cpu();
  // Targets chip by chip (each chip has its own boxes and frame).
  torch::Tensor mask_targets = torch::zeros({fg.numel(), m, m});
  torch::Tensor usable = torch::zeros({fg.numel()}, torch::kBool);
  for (int64_t i = 0; i < static_cast<int64_t>(targets.size()); ++i) {
    const torch::Tensor mine = (fg_chip == i).nonzero().view(-1);
    if (mine.numel() == 0) continue;
    const ChipTargets& t = targets[i];
    TORCH_CHECK(
        static_cast<int64_t>(t.masks.segmentations.size()) == t.boxes.size(0),
        "FasterRcnn: the mask branch needs a segmentation per box; "
        "chip ",
        i, " has ", t.boxes.size(0), " boxes and ",
        t.masks.segmentations.size(), " segmentations");
    auto [cells, ok] = MaskTargets(t.masks, fg_boxes.index_select(0, mine),
                                   fg_match.index_select(0, mine), m);
    mask_targets.index_copy_(0, mine, cells);
    usable.index_copy_(0, mine, ok);
  }
  const torch::Tensor keep = usable.nonzero().view(-1);
  const torch::Tensor keep_dev = keep.to(all_rois.device());
  const torch::Tensor logits = MaskLogits(
      input, fg_rois.index_select(0, keep_dev),
      res5.defined() ? res5.index_select(0, fg).index_select(0, keep_dev)
                     : torch::Tensor());
  const torch::Tensor classes =
      all_labels.index_select(0, fg).index_select(0, keep_dev) - 1;
  return MaskLoss(logits, classes, mask_targets.index_select(0, keep)) *
         options_.mask.loss_weight;
}

std::map<std::string, torch::Tensor> FasterRcnnImpl::Losses(
    const torch::Tensor& images, const std::vector<ChipTargets>& targets,
    uint64_t seed, int64_t first_chip) {
  const int64_t b = images.size(0);
  TORCH_CHECK(static_cast<int64_t>(targets.size()) == b, "FasterRcnn: ", b,
              " images but ", targets.size(), " targets");
  const torch::Tensor f = Features(images);
  const auto [logits, deltas] = Rpn(f);
  const int64_t a = logits.size(1), h = logits.size(2), w = logits.size(3);
  const torch::Tensor anchors =
      ops::GridAnchors(options_.anchors, h, w, logits.options());
  const torch::Tensor lf = logits.permute({0, 2, 3, 1}).reshape({b, -1});
  const torch::Tensor df =
      deltas.view({b, a, 4, h, w}).permute({0, 3, 4, 1, 2}).reshape({b, -1, 4});
  torch::Tensor rpn_cls = torch::zeros({}, logits.options());
  torch::Tensor rpn_box = torch::zeros({}, logits.options());
  for (int64_t i = 0; i < b; ++i) {
    const ChipTargets& t = targets[i];
    const ops::RpnTargets rt = ops::AssignRpnTargets(
        anchors, t.boxes, t.ignore, t.height, t.width, options_.rpn_targets,
        seed * 1000003 + first_chip + i);
    const torch::Tensor sampled = (rt.labels >= 0).nonzero().view(-1);
    const torch::Tensor pos = (rt.labels == 1).nonzero().view(-1);
    const double n = std::max<int64_t>(1, sampled.numel());
    rpn_cls =
        rpn_cls + F::binary_cross_entropy_with_logits(
                      lf[i].index_select(0, sampled),
                      rt.labels.index_select(0, sampled).to(logits.dtype()),
                      F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(
                          torch::kSum)) /
                      n;
    rpn_box = rpn_box + SmoothL1Sum(df[i].index_select(0, pos),
                                    rt.deltas.index_select(0, pos), 1.0 / 9) /
                            n;
  }
  std::map<std::string, torch::Tensor> losses;
  losses[kRpnClsLoss] = rpn_cls / b;
  losses[kRpnBoxLoss] = rpn_box / b;
  if (options_.rpn_only) return losses;
  if (options_.has_focus()) {
    const torch::Tensor focus = Focus(f);
    const torch::Tensor labels =
        FocusTargets(targets, h, w, options_.focus_labels).to(focus.device());
    // Each chip's mean over its labelled cells, averaged over the chips
    // (as the RPN's loss): the same whichever process holds a chip.
    const torch::Tensor cared = (labels >= 0).to(focus.dtype());
    const torch::Tensor per_cell = F::binary_cross_entropy_with_logits(
        focus, labels.clamp_min(0).to(focus.dtype()),
        F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
    const torch::Tensor per_chip =
        (per_cell * cared).sum({1, 2}) / cared.sum({1, 2}).clamp_min(1);
    losses[kFocusLoss] = per_chip.sum() * (options_.focus_loss_weight / b);
  }

  RcnnLosses(f, logits, deltas, anchors, targets, seed, first_chip, losses);
  return losses;
}

void FasterRcnnImpl::RcnnLosses(const torch::Tensor& f,
                                const torch::Tensor& logits,
                                const torch::Tensor& deltas,
                                const torch::Tensor& anchors,
                                const std::vector<ChipTargets>& targets,
                                uint64_t seed, int64_t first_chip,
                                std::map<std::string, torch::Tensor>& losses) {
  const int64_t b = logits.size(0);
  std::vector<double> size_values;
  for (const ChipTargets& t : targets) {
    size_values.push_back(t.height);
    size_values.push_back(t.width);
  }
  const torch::Tensor sizes = torch::tensor(size_values).view({b, 2});
  torch::Tensor proposals;
  {
    torch::NoGradGuard no_grad;
    proposals = ops::GenerateProposals(logits.detach(), deltas.detach(),
                                       anchors, sizes, options_.train_proposals)
                    .first;
  }
  std::vector<torch::Tensor> rois, labels, box_targets, gt_index, weights;
  for (int64_t i = 0; i < b; ++i) {
    const ChipTargets& t = targets[i];
    const torch::Tensor mine = (proposals.select(1, 0) == i).nonzero().view(-1);
    torch::Tensor p = proposals.index_select(0, mine).slice(1, 1, 5);
    if (options_.drop_out_of_range_proposals) {
      p = BoxesInSizeRange(p, t.valid_min, t.valid_max);
    }
    const ops::RcnnTargets rt = ops::AssignRcnnTargets(
        p, t.boxes, t.labels, t.ignore, options_.rcnn_targets,
        seed * 7919 + first_chip + i);
    rois.push_back(
        torch::cat({torch::full({rt.rois.size(0), 1}, static_cast<double>(i),
                                logits.options()),
                    rt.rois},
                   1));
    labels.push_back(rt.labels);
    box_targets.push_back(rt.deltas);
    gt_index.push_back(rt.gt_index);
    // Each chip's RoIs weigh 1 / (its RoI count x chips): the mean over a
    // chip's RoIs, averaged over the chips (as the RPN's loss), so that any
    // split of a batch across processes gives the same gradients.
    const int64_t n = rt.rois.size(0);
    weights.push_back(torch::full({n}, 1.0 / (std::max<int64_t>(n, 1) * b),
                                  logits.options().dtype(torch::kFloat32)));
  }
  const torch::Tensor all_rois = torch::cat(rois, 0);
  const torch::Tensor all_labels = torch::cat(labels, 0);
  const torch::Tensor all_targets = torch::cat(box_targets, 0);
  if (all_rois.size(0) == 0) {
    losses[kRcnnClsLoss] = torch::zeros({}, logits.options());
    losses[kRcnnBoxLoss] = torch::zeros({}, logits.options());
    if (options_.has_mask()) {
      losses[kMaskLoss] = torch::zeros({}, logits.options());
    }
    return;
  }
  const torch::Tensor head_input = HeadInput(f);
  const auto [cls, box, res5] = Rcnn(head_input, all_rois);
  const torch::Tensor all_weights = torch::cat(weights, 0);
  losses[kRcnnClsLoss] =
      (F::cross_entropy(cls, all_labels,
                        F::CrossEntropyFuncOptions().reduction(torch::kNone)) *
       all_weights)
          .sum();
  const torch::Tensor fg = (all_labels > 0).nonzero().view(-1);
  losses[kRcnnBoxLoss] =
      (torch::smooth_l1_loss(box.index_select(0, fg).to(torch::kFloat32),
                             all_targets.index_select(0, fg),
                             at::Reduction::None, 1.0)
           .sum(1) *
       all_weights.index_select(0, fg))
          .sum();
  if (options_.has_mask()) {
    losses[kMaskLoss] =
        MaskBranchLoss(head_input, targets, all_rois, all_labels,
                       torch::cat(gt_index, 0), res5);
  }
}

std::vector<Detections> FasterRcnnImpl::Detect(
    const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& chip_sizes,
    const ops::ProposalOptions* proposal_options,
    const std::vector<ProposalSizeRange>* proposal_sizes) {
  torch::NoGradGuard no_grad;
  const int64_t b = images.size(0);
  TORCH_CHECK(static_cast<int64_t>(chip_sizes.size()) == b, "FasterRcnn: ", b,
              " images but ", chip_sizes.size(), " sizes");
  TORCH_CHECK(proposal_sizes == nullptr ||
                  static_cast<int64_t>(proposal_sizes->size()) == b,
              "FasterRcnn: ", b, " images but ",
              proposal_sizes == nullptr ? 0 : proposal_sizes->size(),
              " proposal size ranges");
  const torch::Tensor f = Features(images);
  const auto [logits, deltas] = Rpn(f);
  const torch::Tensor anchors = ops::GridAnchors(
      options_.anchors, logits.size(2), logits.size(3), logits.options());
  std::vector<double> size_values;
  for (const auto& s : chip_sizes) {
    size_values.push_back(s.first);
    size_values.push_back(s.second);
  }
  const torch::Tensor sizes = torch::tensor(size_values).view({b, 2});
  auto [proposals, objectness] = ops::GenerateProposals(
      logits, deltas, anchors, sizes,
      proposal_options != nullptr ? *proposal_options
                                  : options_.test_proposals);
  std::vector<Detections> out(b);
  if (options_.rpn_only) {
    for (int64_t i = 0; i < b; ++i) {
      const torch::Tensor mine =
          (proposals.select(1, 0) == i).nonzero().view(-1);
      out[i].boxes = proposals.index_select(0, mine).slice(1, 1, 5);
      out[i].scores = torch::sigmoid(objectness.index_select(0, mine));
      out[i].labels = torch::zeros({mine.numel()}, torch::kLong);
    }
    return out;
  }
  if (options_.has_focus()) {
    const torch::Tensor focus = torch::sigmoid(Focus(f));
    for (int64_t i = 0; i < b; ++i) out[i].focus = focus[i];
  }
  if (proposal_sizes != nullptr) {
    proposals = KeepProposalSizes(proposals, *proposal_sizes);
  }
  const torch::Tensor head_input = HeadInput(f);
  const RcnnOutputs rcnn = Rcnn(head_input, proposals);
  const torch::Tensor& cls = rcnn.cls;
  const torch::Tensor& box = rcnn.box;
  const torch::Tensor probs = torch::softmax(cls, 1);
  const torch::Tensor boxes = ops::DecodeBoxes(box, proposals.slice(1, 1, 5),
                                               options_.rcnn_targets.coder);
  const int64_t k = options_.num_classes;
  for (int64_t i = 0; i < b; ++i) {
    const torch::Tensor mine = (proposals.select(1, 0) == i).nonzero().view(-1);
    const torch::Tensor bx = ops::ClipBoxes(
        boxes.index_select(0, mine), chip_sizes[i].first, chip_sizes[i].second);
    // Every (proposal, class) pair above the threshold, NMS per class.
    const torch::Tensor p = probs.index_select(0, mine).slice(1, 1, k + 1);
    const torch::Tensor keep = (p > options_.test_score_threshold).nonzero();
    const torch::Tensor rows = keep.select(1, 0), cols = keep.select(1, 1);
    const torch::Tensor cand_boxes = bx.index_select(0, rows);
    const torch::Tensor cand_scores = p.index({rows, cols});
    const torch::Tensor kept =
        ops::BatchedNms(cand_boxes, cand_scores, cols,
                        options_.test_nms_threshold)
            .slice(0, 0, options_.test_detections_per_chip);
    out[i].boxes = cand_boxes.index_select(0, kept);
    out[i].scores = cand_scores.index_select(0, kept);
    out[i].labels = cols.index_select(0, kept);
  }
  if (options_.has_mask()) DetectMasks(head_input, &out);
  return out;
}

void FasterRcnnImpl::DetectMasks(const torch::Tensor& head_input,
                                 std::vector<Detections>* out) {
  std::vector<torch::Tensor> rois, classes;
  for (size_t i = 0; i < out->size(); ++i) {
    const Detections& d = (*out)[i];
    rois.push_back(
        torch::cat({torch::full({d.boxes.size(0), 1}, static_cast<double>(i),
                                d.boxes.options()),
                    d.boxes},
                   1));
    classes.push_back(d.labels);
  }
  const torch::Tensor all_rois = torch::cat(rois, 0);
  const int64_t m = options_.mask.resolution;
  torch::Tensor probs;
  if (all_rois.size(0) == 0) {
    probs = torch::zeros({0, m, m}, all_rois.options().dtype(torch::kFloat));
  } else {
    probs = MaskProbabilities(MaskLogits(head_input, all_rois),
                              torch::cat(classes, 0));
  }
  int64_t begin = 0;
  for (Detections& d : *out) {
    const int64_t n = d.boxes.size(0);
    d.masks = probs.slice(0, begin, begin + n);
    begin += n;
  }
}

}  // namespace sniper::models
