// FasterRcnn (models/faster_rcnn.h): construction, the forward pieces and
// detection; the losses are in faster_rcnn_losses.cc.
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
