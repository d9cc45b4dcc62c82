#include "ops/target_assignment.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "ops/box_iou.h"

namespace sniper::ops {
namespace {

void CheckBoxesOn(const at::Tensor& boxes, const at::Tensor& like,
                  const char* op, const char* name) {
  detail::CheckBoxes(boxes, op, name);
  TORCH_CHECK(boxes.device() == like.device() &&
                  boxes.scalar_type() == like.scalar_type(),
              op, ": ", name, " is ", boxes.scalar_type(), " on ",
              boxes.device(), ", expected ", like.scalar_type(), " on ",
              like.device());
}

// Keeps at most `limit` of the indices where `mask` is true, chosen
// uniformly at random with `gen`; returns the mask of the ones dropped.
at::Tensor SubsampleExcess(const at::Tensor& mask, int64_t limit,
                           at::Generator& gen) {
  const at::Tensor idx = mask.nonzero().view(-1);
  const int64_t n = idx.numel();
  at::Tensor drop = at::zeros_like(mask);
  if (n <= limit) return drop;
  const at::Tensor perm =
      at::randperm(n, gen, at::TensorOptions().dtype(at::kLong))
          .to(idx.device());
  drop.index_fill_(0, idx.index_select(0, perm.slice(0, limit)), true);
  return drop;
}

}  // namespace

RpnTargets AssignRpnTargets(const at::Tensor& anchors, const at::Tensor& gt,
                            const at::Tensor& ignore, double chip_height,
                            double chip_width, const RpnTargetOptions& o,
                            uint64_t seed) {
  detail::CheckBoxes(anchors, "AssignRpnTargets", "anchors");
  CheckBoxesOn(gt, anchors, "AssignRpnTargets", "gt");
  CheckBoxesOn(ignore, anchors, "AssignRpnTargets", "ignore");
  TORCH_CHECK(o.negative_iou <= o.positive_iou,
              "AssignRpnTargets: negative_iou (", o.negative_iou,
              ") must be <= positive_iou (", o.positive_iou, ")");
  TORCH_CHECK(
      o.batch_size > 0 && o.positive_fraction >= 0 && o.positive_fraction <= 1,
      "AssignRpnTargets: batch_size must be > 0 and positive_fraction "
      "in [0, 1], got ",
      o.batch_size, " and ", o.positive_fraction);
  const int64_t a = anchors.size(0);
  const auto long_opts = anchors.options().dtype(at::kLong);
  at::Tensor labels = at::full({a}, -1, long_opts);
  at::Tensor deltas = at::zeros({a, 4}, anchors.options());
  at::Tensor weights = at::zeros({a, 4}, anchors.options());
  if (a == 0) return {labels, deltas, weights};

  const double b = o.allowed_border;
  const at::Tensor inside = (anchors.select(1, 0) >= -b) &
                            (anchors.select(1, 1) >= -b) &
                            (anchors.select(1, 2) <= chip_width + b) &
                            (anchors.select(1, 3) <= chip_height + b);
  at::Tensor matched;
  at::Tensor positive = at::zeros({a}, anchors.options().dtype(at::kBool));
  if (gt.size(0) > 0) {
    const at::Tensor iou = BoxIou(anchors, gt);  // [A, G]
    const auto [max_iou, argmax] = iou.max(1);
    matched = argmax;
    labels.masked_fill_(inside & (max_iou < o.negative_iou), 0);
    // Best anchors of each GT (among inside anchors), ties included.
    const at::Tensor iou_inside = iou.masked_fill(~inside.unsqueeze(1), -1);
    const at::Tensor gt_best = std::get<0>(iou_inside.max(0));  // [G]
    const at::Tensor is_best =
        ((iou_inside == gt_best.unsqueeze(0)) & (gt_best.unsqueeze(0) > 0))
            .any(1);
    positive = inside & (is_best | (max_iou >= o.positive_iou));
    labels.masked_fill_(positive, 1);
  } else {
    labels.masked_fill_(inside, 0);
  }
  if (ignore.size(0) > 0) {
    const at::Tensor ign = std::get<0>(BoxIou(anchors, ignore).max(1));
    labels.masked_fill_(ign > o.ignore_iou, -1);
  }
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t max_pos =
      static_cast<int64_t>(std::floor(o.batch_size * o.positive_fraction));
  labels.masked_fill_(SubsampleExcess(labels == 1, max_pos, gen), -1);
  const int64_t num_pos = (labels == 1).sum().item<int64_t>();
  labels.masked_fill_(SubsampleExcess(labels == 0, o.batch_size - num_pos, gen),
                      -1);

  const at::Tensor pos = (labels == 1).nonzero().view(-1);
  if (pos.numel() > 0) {
    deltas.index_copy_(
        0, pos,
        EncodeBoxes(anchors.index_select(0, pos),
                    gt.index_select(0, matched.index_select(0, pos)), o.coder));
    weights.index_fill_(0, pos, 1);
  }
  return {labels, deltas, weights};
}

RcnnTargets AssignRcnnTargets(const at::Tensor& proposals, const at::Tensor& gt,
                              const at::Tensor& gt_labels,
                              const at::Tensor& ignore,
                              const RcnnTargetOptions& o, uint64_t seed) {
  detail::CheckBoxes(proposals, "AssignRcnnTargets", "proposals");
  CheckBoxesOn(gt, proposals, "AssignRcnnTargets", "gt");
  CheckBoxesOn(ignore, proposals, "AssignRcnnTargets", "ignore");
  TORCH_CHECK(gt_labels.dim() == 1 && gt_labels.size(0) == gt.size(0) &&
                  gt_labels.scalar_type() == at::kLong,
              "AssignRcnnTargets: gt_labels must be int64 [", gt.size(0),
              "], got ", gt_labels.scalar_type(), " ", gt_labels.sizes());
  TORCH_CHECK(o.bg_iou_low <= o.bg_iou_high && o.bg_iou_high <= o.fg_iou,
              "AssignRcnnTargets: need bg_iou_low <= bg_iou_high <= fg_iou, "
              "got ",
              o.bg_iou_low, ", ", o.bg_iou_high, ", ", o.fg_iou);
  const at::Tensor cand =
      o.add_gt && gt.size(0) > 0 ? at::cat({proposals, gt}, 0) : proposals;
  const int64_t n = cand.size(0);
  at::Tensor max_gt = at::zeros({n}, cand.options());
  at::Tensor argmax = at::zeros({n}, cand.options().dtype(at::kLong));
  if (gt.size(0) > 0 && n > 0) {
    std::tie(max_gt, argmax) = BoxIou(cand, gt).max(1);
  }
  at::Tensor excluded = at::zeros({n}, cand.options().dtype(at::kBool));
  if (ignore.size(0) > 0 && n > 0) {
    const at::Tensor max_ign = std::get<0>(BoxIou(cand, ignore).max(1));
    excluded = (max_ign >= o.ignore_iou) & (max_ign > max_gt);
  }
  at::Tensor fg = ~excluded & (max_gt >= o.fg_iou);
  if (gt.size(0) == 0) fg.zero_();
  at::Tensor bg =
      ~excluded & ~fg & (max_gt < o.bg_iou_high) & (max_gt >= o.bg_iou_low);
  if (o.batch_size > 0) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const int64_t max_fg =
        static_cast<int64_t>(std::llround(o.batch_size * o.fg_fraction));
    fg = fg & ~SubsampleExcess(fg, max_fg, gen);
    const int64_t num_fg = fg.sum().item<int64_t>();
    bg = bg & ~SubsampleExcess(bg, o.batch_size - num_fg, gen);
  }
  const at::Tensor keep = (fg | bg).nonzero().view(-1);
  RcnnTargets t;
  t.rois = cand.index_select(0, keep);
  const at::Tensor kept_fg = fg.index_select(0, keep);
  const int64_t r = keep.numel();
  t.labels = at::zeros({r}, cand.options().dtype(at::kLong));
  t.deltas = at::zeros({r, 4}, cand.options());
  t.weights = at::zeros({r, 4}, cand.options());
  t.gt_index = at::full({r}, -1, cand.options().dtype(at::kLong));
  const at::Tensor fg_pos = kept_fg.nonzero().view(-1);
  if (fg_pos.numel() > 0) {
    const at::Tensor match =
        argmax.index_select(0, keep).index_select(0, fg_pos);
    t.labels.index_copy_(0, fg_pos, gt_labels.index_select(0, match) + 1);
    t.deltas.index_copy_(0, fg_pos,
                         EncodeBoxes(t.rois.index_select(0, fg_pos),
                                     gt.index_select(0, match), o.coder));
    t.weights.index_fill_(0, fg_pos, 1);
    t.gt_index.index_copy_(0, fg_pos, match);
  }
  return t;
}

}  // namespace sniper::ops
