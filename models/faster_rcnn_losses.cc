// FasterRcnn's training half (models/faster_rcnn.h): the RPN, RCNN, mask
// and focus losses of a batch of chips and their targets.
#include <algorithm>
#include <cmath>

#include "models/faster_rcnn.h"

namespace sniper::models {
namespace {

namespace F = torch::nn::functional;

}  // namespace

torch::Tensor SmoothL1Sum(const torch::Tensor& a, const torch::Tensor& b,
                          double beta) {
  // Not F::smooth_l1_loss: LibTorch 1.13's ignores the options' beta (it
  // passes its own default 1), 2.x honours it.
  return torch::smooth_l1_loss(a, b, at::Reduction::Sum, beta);
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
    const torch::Tensor focus = Focus(options_.focus_detach ? f.detach() : f);
    const torch::Tensor labels =
        FocusTargets(targets, h, w, options_.focus_labels).to(focus.device());
    // Each chip's mean over its labelled cells, averaged over the chips
    // (as the RPN's loss): the same whichever process holds a chip.
    const torch::Tensor cared = (labels >= 0).to(focus.dtype());
    F::BinaryCrossEntropyWithLogitsFuncOptions bce;
    bce.reduction(torch::kNone);
    if (options_.focus_positive_weight != 1.0) {
      bce.pos_weight(
          torch::full({1}, options_.focus_positive_weight, focus.options()));
    }
    const torch::Tensor per_cell = F::binary_cross_entropy_with_logits(
        focus, labels.clamp_min(0).to(focus.dtype()), bce);
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

}  // namespace sniper::models
