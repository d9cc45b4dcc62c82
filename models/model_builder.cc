#include "models/model_builder.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "port/field_path.h"
#include "port/status_macros.h"

namespace sniper::models {
namespace {

bool Fraction(float v) { return std::isfinite(v) && v >= 0 && v <= 1; }

// `path`: the ProposalConfig's own path.
absl::Status Proposals(const ProposalConfig& c, const std::string& path,
                       ops::ProposalOptions* out) {
  if (c.pre_nms_top_n() < 1 || c.post_nms_top_n() < 1) {
    return InvalidField(
        path, "",
        absl::StrCat("top-n values must be >= 1, got ", c.pre_nms_top_n(),
                     " and ", c.post_nms_top_n()));
  }
  if (!Fraction(c.nms_threshold())) {
    return InvalidField(
        path, "nms_threshold",
        absl::StrCat("must be in [0, 1], got ", c.nms_threshold()));
  }
  if (!(c.min_size() >= 0)) {
    return InvalidField(path, "min_size",
                        absl::StrCat("must be >= 0, got ", c.min_size()));
  }
  out->pre_nms_top_n = c.pre_nms_top_n();
  out->post_nms_top_n = c.post_nms_top_n();
  out->nms_threshold = c.nms_threshold();
  out->min_size = c.min_size();
  return absl::OkStatus();
}

// The mask branch into out->mask (after the head and RoI size are known).
absl::Status MaskBranch(const MaskHeadConfig& c, const std::string& path,
                        FasterRcnnOptions* out) {
  MaskHeadOptions& m = out->mask;
  m.enabled = c.enabled();
  if (c.channels() < 1) {
    return InvalidField(path, "channels",
                        absl::StrCat("must be >= 1, got ", c.channels()));
  }
  if (c.convs() < 0) {
    return InvalidField(path, "convs",
                        absl::StrCat("must be >= 0, got ", c.convs()));
  }
  if (!(std::isfinite(c.loss_weight()) && c.loss_weight() >= 0)) {
    return InvalidField(path, "loss_weight",
                        absl::StrCat("must be >= 0, got ", c.loss_weight()));
  }
  const bool c4 = out->head == RcnnHead::kC4;
  const int64_t c4_side = 2 * ((out->roi_align.pooled_height + 1) / 2);
  const int64_t resolution =
      c.has_resolution() ? c.resolution() : (c4 ? c4_side : 28);
  if (c4 && resolution != c4_side) {
    return InvalidField(
        path, "resolution",
        absl::StrCat("the C4 head's masks are twice res5's RoI output (",
                     c4_side, " for roi_pooled_size ",
                     out->roi_align.pooled_height, "), got ", resolution));
  }
  if (resolution < 2 || resolution % 2 != 0 || resolution > 112) {
    return InvalidField(
        path, "resolution",
        absl::StrCat("must be even and in [2, 112], got ", resolution));
  }
  m.channels = c.channels();
  m.convs = c.convs();
  m.resolution = resolution;
  m.loss_weight = c.loss_weight();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FasterRcnnOptions> BuildFasterRcnnOptions(
    const ModelConfig& c, const std::string& path) {
  auto Invalid = [&path](const std::string& field, const std::string& rule) {
    return InvalidField(path, field, rule);
  };
  FasterRcnnOptions o;
  const BackboneConfig& b = c.backbone();
  o.backbone.type = b.type() == BackboneConfig::MOBILENET_V2
                        ? BackboneType::kMobileNetV2
                        : BackboneType::kResNet;
  o.backbone.depth = b.depth();
  o.backbone.width_multiplier = b.width_multiplier();
  o.backbone.freeze_stem_and_layer1 = b.freeze_stem_and_layer1();
  o.backbone.freeze_all_bn = b.freeze_all_bn();
  o.backbone.res5_dilation = b.res5_dilation();
  o.backbone.channels_last = b.channels_last();
  RETURN_IF_ERROR(
      ValidateBackboneOptions(o.backbone, FieldPath(path, "backbone")));
  if (c.num_classes() < 1) {
    return Invalid("num_classes",
                   absl::StrCat("must be >= 1, got ", c.num_classes()));
  }
  for (auto [name, v] :
       {std::pair<const char*, int32_t>{"rpn_channels", c.rpn_channels()},
        {"rcnn_reduce_channels", c.rcnn_reduce_channels()},
        {"rcnn_fc_channels", c.rcnn_fc_channels()},
        {"roi_pooled_size", c.roi_pooled_size()},
        {"test_detections_per_chip", c.test_detections_per_chip()}}) {
    if (v < 1) return Invalid(name, absl::StrCat("must be >= 1, got ", v));
  }
  o.num_classes = c.num_classes();
  o.rpn_only = c.rpn_only();
  o.rpn_channels = c.rpn_channels();
  o.rcnn_reduce_channels = c.rcnn_reduce_channels();
  o.rcnn_fc_channels = c.rcnn_fc_channels();

  const AnchorConfig& a = c.anchors();
  if (a.stride() != 16) {
    return Invalid(
        "anchors.stride",
        absl::StrCat("must be 16 (the feature stride), got ", a.stride()));
  }
  o.anchors.stride = a.stride();
  if (a.ratios_size() > 0)
    o.anchors.ratios.assign(a.ratios().begin(), a.ratios().end());
  if (a.scales_size() > 0)
    o.anchors.scales.assign(a.scales().begin(), a.scales().end());
  for (double r : o.anchors.ratios) {
    if (!(std::isfinite(r) && r > 0)) {
      return Invalid("anchors.ratios", absl::StrCat("must be > 0, got ", r));
    }
  }
  for (double s : o.anchors.scales) {
    if (!(std::isfinite(s) && s > 0)) {
      return Invalid("anchors.scales", absl::StrCat("must be > 0, got ", s));
    }
  }

  const RpnTargetConfig& r = c.rpn_targets();
  if (!Fraction(r.positive_iou()) || !Fraction(r.negative_iou()) ||
      !Fraction(r.ignore_iou()) || !Fraction(r.positive_fraction())) {
    return Invalid("rpn_targets",
                   "positive_iou, negative_iou, ignore_iou and "
                   "positive_fraction must be in [0, 1]");
  }
  if (r.negative_iou() > r.positive_iou()) {
    return Invalid(
        "rpn_targets",
        absl::StrCat("negative_iou (", r.negative_iou(),
                     ") must be <= positive_iou (", r.positive_iou(), ")"));
  }
  if (r.batch_size() < 1) {
    return Invalid("rpn_targets.batch_size",
                   absl::StrCat("must be >= 1, got ", r.batch_size()));
  }
  o.rpn_targets.positive_iou = r.positive_iou();
  o.rpn_targets.negative_iou = r.negative_iou();
  o.rpn_targets.ignore_iou = r.ignore_iou();
  o.rpn_targets.allowed_border = r.allowed_border();
  o.rpn_targets.batch_size = r.batch_size();
  o.rpn_targets.positive_fraction = r.positive_fraction();

  const RcnnTargetConfig& t = c.rcnn_targets();
  if (!Fraction(t.fg_iou()) || !Fraction(t.bg_iou_high()) ||
      !Fraction(t.bg_iou_low()) || !Fraction(t.ignore_iou()) ||
      !Fraction(t.fg_fraction())) {
    return Invalid("rcnn_targets",
                   "IoU thresholds and fg_fraction must be in [0, 1]");
  }
  if (!(t.bg_iou_low() <= t.bg_iou_high() && t.bg_iou_high() <= t.fg_iou())) {
    return Invalid(
        "rcnn_targets",
        absl::StrCat("need bg_iou_low <= bg_iou_high <= fg_iou, got ",
                     t.bg_iou_low(), ", ", t.bg_iou_high(), ", ", t.fg_iou()));
  }
  o.rcnn_targets.fg_iou = t.fg_iou();
  o.rcnn_targets.bg_iou_high = t.bg_iou_high();
  o.rcnn_targets.bg_iou_low = t.bg_iou_low();
  o.rcnn_targets.ignore_iou = t.ignore_iou();
  o.rcnn_targets.add_gt = t.add_gt();
  o.rcnn_targets.batch_size = t.batch_size();
  o.rcnn_targets.fg_fraction = t.fg_fraction();
  o.drop_out_of_range_proposals = t.drop_out_of_range_proposals();

  RETURN_IF_ERROR(Proposals(c.train_proposals(),
                            FieldPath(path, "train_proposals"),
                            &o.train_proposals));
  RETURN_IF_ERROR(Proposals(c.test_proposals(),
                            FieldPath(path, "test_proposals"),
                            &o.test_proposals));
  o.head = c.rcnn_head() == ModelConfig::C4 ? RcnnHead::kC4 : RcnnHead::kTwoFc;
  o.roi_align.pooled_height = o.roi_align.pooled_width =
      o.head == RcnnHead::kC4 && !c.has_roi_pooled_size() ? 14
                                                          : c.roi_pooled_size();
  if (o.head == RcnnHead::kC4 && c.backbone().has_res5_dilation() &&
      c.backbone().res5_dilation()) {
    return Invalid("backbone.res5_dilation",
                   "the C4 head runs res5 on the RoIs at stride 2; set it to "
                   "false or leave it unset");
  }
  o.roi_align.sampling_ratio = c.roi_sampling_ratio();
  o.roi_align.spatial_scale = 1.0 / 16;
  if (!(c.test_score_threshold() >= 0) || !Fraction(c.test_nms_threshold())) {
    return Invalid("test_score_threshold",
                   "test thresholds must be >= 0 (score) and in [0, 1] (NMS)");
  }
  o.test_score_threshold = c.test_score_threshold();
  o.test_nms_threshold = c.test_nms_threshold();
  o.test_detections_per_chip = c.test_detections_per_chip();

  const FocusConfig& f = c.focus();
  o.focus = f.enabled();
  if (f.channels() < 1) {
    return Invalid("focus.channels",
                   absl::StrCat("must be >= 1, got ", f.channels()));
  }
  if (!(std::isfinite(f.loss_weight()) && f.loss_weight() >= 0)) {
    return Invalid("focus.loss_weight",
                   absl::StrCat("must be >= 0, got ", f.loss_weight()));
  }
  if (!(std::isfinite(f.positive_weight()) && f.positive_weight() > 0)) {
    return Invalid("focus.positive_weight",
                   absl::StrCat("must be > 0, got ", f.positive_weight()));
  }
  o.focus_channels = f.channels();
  o.focus_loss_weight = f.loss_weight();
  o.focus_detach = f.detach_features();
  o.focus_positive_weight = f.positive_weight();
  o.focus_labels.small_min = f.small_min();
  o.focus_labels.small_max = f.small_max();
  o.focus_labels.dont_care_max = f.dont_care_max();
  o.focus_labels.stride = o.anchors.stride;
  RETURN_IF_ERROR(autofocus::ValidateFocusLabelOptions(
      o.focus_labels, FieldPath(path, "focus")));
  RETURN_IF_ERROR(MaskBranch(c.mask_head(), FieldPath(path, "mask_head"), &o));
  return o;
}

namespace {

std::string Text(bool v) { return v ? "true" : "false"; }
std::string Text(int v) { return absl::StrCat(v); }
std::string Text(int64_t v) { return absl::StrCat(v); }
std::string Text(double v) { return absl::StrCat(v); }
std::string Text(RcnnHead h) { return h == RcnnHead::kC4 ? "C4" : "TWO_FC"; }
std::string Text(BackboneType t) {
  return t == BackboneType::kMobileNetV2 ? "MOBILENET_V2" : "RESNET";
}
std::string Text(const std::vector<double>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

}  // namespace

std::vector<ArchitectureDifference> ArchitectureDifferences(
    const FasterRcnnOptions& a, const FasterRcnnOptions& b) {
  std::vector<ArchitectureDifference> out;
  auto compare = [&out](const char* field, const auto& x, const auto& y) {
    if (!(x == y)) out.push_back({field, Text(x), Text(y)});
  };
  compare("backbone.type", a.backbone.type, b.backbone.type);
  if (a.backbone.type == BackboneType::kResNet &&
      b.backbone.type == BackboneType::kResNet) {
    compare("backbone.depth", a.backbone.depth, b.backbone.depth);
  }
  compare("backbone.width_multiplier", a.backbone.width_multiplier,
          b.backbone.width_multiplier);
  compare("backbone.res5_dilation", a.backbone.res5_dilation,
          b.backbone.res5_dilation);
  compare("num_classes", a.num_classes, b.num_classes);
  compare("rpn_channels", a.rpn_channels, b.rpn_channels);
  compare("rcnn_reduce_channels", a.rcnn_reduce_channels,
          b.rcnn_reduce_channels);
  compare("rcnn_fc_channels", a.rcnn_fc_channels, b.rcnn_fc_channels);
  compare("anchors.ratios", a.anchors.ratios, b.anchors.ratios);
  compare("anchors.scales", a.anchors.scales, b.anchors.scales);
  compare("roi_pooled_size", a.roi_align.pooled_height,
          b.roi_align.pooled_height);
  compare("rcnn_head", a.head, b.head);
  compare("focus.enabled", a.focus, b.focus);
  if (a.focus && b.focus) {
    compare("focus.channels", a.focus_channels, b.focus_channels);
  }
  compare("mask_head.enabled", a.mask.enabled, b.mask.enabled);
  if (a.mask.enabled && b.mask.enabled) {
    compare("mask_head.channels", a.mask.channels, b.mask.channels);
    compare("mask_head.convs", a.mask.convs, b.mask.convs);
    compare("mask_head.resolution", a.mask.resolution, b.mask.resolution);
  }
  return out;
}

}  // namespace sniper::models
