#include "models/model_builder.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::models {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<FasterRcnnOptions> Build(const std::string& text) {
  ModelConfig c;
  const absl::Status s = ParseTextProto(text, "model.pbtxt", &c);
  if (!s.ok()) return s;
  return BuildFasterRcnnOptions(c);
}

TEST(ModelBuilderTest, DefaultsAreTheSniperCocoSettings) {
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions o, Build(""));
  EXPECT_EQ(o.backbone.depth, 50);
  EXPECT_TRUE(o.backbone.res5_dilation);
  EXPECT_TRUE(o.backbone.freeze_stem_and_layer1);
  EXPECT_EQ(o.num_classes, 80);
  EXPECT_EQ(o.anchors.num_anchors(), 21);
  EXPECT_FLOAT_EQ(o.rpn_targets.negative_iou, 0.4f);
  EXPECT_EQ(o.rpn_targets.batch_size, 256);
  EXPECT_EQ(o.rcnn_targets.batch_size, -1);
  EXPECT_EQ(o.train_proposals.post_nms_top_n, 300);
  EXPECT_EQ(o.roi_align.pooled_height, 7);
  EXPECT_DOUBLE_EQ(o.roi_align.spatial_scale, 1.0 / 16);
}

TEST(ModelBuilderTest, OverridesBuildAModel) {
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions o,
      Build("backbone { depth: 18 width_multiplier: 0.25 } num_classes: 5 "
            "rpn_channels: 32 rcnn_reduce_channels: 16 rcnn_fc_channels: 64 "
            "anchors { ratios: [1] scales: [2, 4] } rpn_only: true"));
  EXPECT_EQ(o.anchors.num_anchors(), 2);
  FasterRcnn model(o);
  EXPECT_EQ(model->options().num_classes, 5);
}

TEST(ModelBuilderTest, C4HeadPoolsAt14AndKeepsRes5ForTheHead) {
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions o,
      Build("rcnn_head: C4 backbone { depth: 18 width_multiplier: 0.25 } "
            "num_classes: 3 rpn_channels: 16"));
  EXPECT_EQ(o.head, RcnnHead::kC4);
  EXPECT_EQ(o.roi_align.pooled_height, 14);
  FasterRcnn model(o);
  EXPECT_TRUE(
      model->named_parameters().contains("backbone.layer4.0.conv1.weight"));
  EXPECT_EQ(model->named_parameters()["cls_score.weight"].size(1),
            model->backbone()->head_channels());
  ASSERT_OK_AND_ASSIGN(o, Build("rcnn_head: C4 roi_pooled_size: 8"));
  EXPECT_EQ(o.roi_align.pooled_height, 8);
  EXPECT_THAT(Build("rcnn_head: C4 backbone { res5_dilation: true }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("backbone.res5_dilation")));
}

TEST(ModelBuilderTest, MobileNetV2HasStride16FeaturesFromItsDilatedRes5) {
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions o,
      Build("backbone { type: MOBILENET_V2 width_multiplier: 0.25 } "
            "num_classes: 3 rpn_channels: 16 rcnn_fc_channels: 32"));
  EXPECT_EQ(o.backbone.type, BackboneType::kMobileNetV2);
  FasterRcnn model(o);
  EXPECT_EQ(model->backbone()->feature_stride(), 16);
  EXPECT_EQ(model->backbone()->feature_channels(), 1280);
  EXPECT_EQ(model->named_parameters()["rpn_conv.weight"].size(1), 1280);
  EXPECT_TRUE(model->named_parameters().contains(
      "backbone.features.17.conv.1.0.weight"));
  // Without the dilation, the features are res4's 96 x width channels.
  ASSERT_OK_AND_ASSIGN(
      o, Build("backbone { type: MOBILENET_V2 width_multiplier: 0.5 "
               "res5_dilation: false } num_classes: 3"));
  FasterRcnn trunk(o);
  EXPECT_EQ(trunk->backbone()->feature_channels(), 48);
  EXPECT_FALSE(trunk->named_parameters().contains(
      "backbone.features.14.conv.0.0.weight"));
  // The backbone type is architecture: a checkpoint of the other refuses.
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions r, Build(""));
  const std::vector<ArchitectureDifference> d = ArchitectureDifferences(r, o);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].field, "backbone.type");
  EXPECT_EQ(d[0].a, "RESNET");
  EXPECT_EQ(d[0].b, "MOBILENET_V2");
}

TEST(ModelBuilderTest, RejectsNamingTheField) {
  EXPECT_THAT(
      Build("backbone { depth: 42 }"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("ModelConfig.backbone.depth: must be 18, 34, 50 or 101")));
  EXPECT_THAT(Build("num_classes: 0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("num_classes: must be >= 1, got 0")));
  EXPECT_THAT(
      Build("rpn_targets { negative_iou: 0.6 }"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("negative_iou (0.6) must be <= positive_iou (0.5)")));
  EXPECT_THAT(Build("rcnn_targets { bg_iou_high: 0.7 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bg_iou_low <= bg_iou_high <= fg_iou")));
  EXPECT_THAT(Build("anchors { stride: 8 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("anchors.stride: must be 16")));
  EXPECT_THAT(Build("anchors { scales: [0] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("anchors.scales: must be > 0")));
  EXPECT_THAT(
      Build("train_proposals { post_nms_top_n: 0 }"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("train_proposals: top-n values must be >= 1")));
  EXPECT_THAT(Build("rcnn_fc_channels: 0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rcnn_fc_channels: must be >= 1")));
  EXPECT_THAT(Build("focus { enabled: true small_min: 70 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ModelConfig.focus: need 0 <= small_min < "
                                 "small_max <= dont_care_max, got 70, 64")));
  EXPECT_THAT(Build("focus { loss_weight: -1 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("focus.loss_weight: must be >= 0")));
  EXPECT_THAT(Build("focus { positive_weight: 0 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("focus.positive_weight: must be > 0")));
  EXPECT_THAT(Build("focus { channels: 0 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("focus.channels: must be >= 1")));
}

TEST(ModelBuilderTest, FocusBranchIsOffByDefaultAndBuildsItsLabels) {
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions off, Build(""));
  EXPECT_FALSE(off.has_focus());
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions on,
      Build("focus { enabled: true channels: 32 loss_weight: 0.5 "
            "small_min: 3 small_max: 48 dont_care_max: 72 }"));
  EXPECT_TRUE(on.has_focus());
  EXPECT_EQ(on.focus_channels, 32);
  EXPECT_DOUBLE_EQ(on.focus_loss_weight, 0.5);
  EXPECT_FALSE(on.focus_detach);
  EXPECT_DOUBLE_EQ(on.focus_positive_weight, 1.0);
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions detached,
                       Build("focus { enabled: true detach_features: true "
                             "positive_weight: 2.5 }"));
  EXPECT_TRUE(detached.focus_detach);
  EXPECT_DOUBLE_EQ(detached.focus_positive_weight, 2.5);
  EXPECT_DOUBLE_EQ(on.focus_labels.small_min, 3);
  EXPECT_DOUBLE_EQ(on.focus_labels.small_max, 48);
  EXPECT_DOUBLE_EQ(on.focus_labels.dont_care_max, 72);
  EXPECT_EQ(on.focus_labels.stride, 16);
  // A model with the branch holds other weights than one without.
  const std::vector<ArchitectureDifference> d =
      ArchitectureDifferences(off, on);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "focus.enabled");
  EXPECT_EQ(d[0].a, "false");
  EXPECT_EQ(d[0].b, "true");
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions wide,
                       Build("focus { enabled: true channels: 64 }"));
  ASSERT_EQ(ArchitectureDifferences(on, wide).size(), 1u);
  EXPECT_EQ(ArchitectureDifferences(on, wide)[0].field, "focus.channels");
  // Its label thresholds and weight are training settings.
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions other,
                       Build("focus { enabled: true channels: 32 }"));
  EXPECT_TRUE(ArchitectureDifferences(on, other).empty());
}

TEST(ModelBuilderTest, MaskHeadIsOffByDefaultAndSizedByTheHead) {
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions off, Build(""));
  EXPECT_FALSE(off.has_mask());
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions on,
                       Build("mask_head { enabled: true channels: 64 }"));
  EXPECT_TRUE(on.has_mask());
  EXPECT_EQ(on.mask.resolution, 28);  // 2fc: Mask R-CNN's 28 x 28
  EXPECT_EQ(on.mask.channels, 64);
  EXPECT_EQ(on.mask.convs, 4);
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions c4,
                       Build("rcnn_head: C4 backbone { res5_dilation: false } "
                             "mask_head { enabled: true }"));
  EXPECT_EQ(c4.mask.resolution, 14);  // res5's 7 x 7, deconvolved
  EXPECT_FALSE(Build("rcnn_head: C4 backbone { res5_dilation: false } "
                     "mask_head { enabled: true resolution: 28 }")
                   .ok());
  // rpn_only never builds it.
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions rpn,
                       Build("rpn_only: true mask_head { enabled: true }"));
  EXPECT_FALSE(rpn.has_mask());
  EXPECT_THAT(Build("mask_head { resolution: 27 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ModelConfig.mask_head.resolution: must be "
                                 "even")));
  EXPECT_THAT(Build("mask_head { loss_weight: -2 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mask_head.loss_weight: must be >= 0")));
  // The branch's weights are architecture; its loss weight is not.
  const std::vector<ArchitectureDifference> d =
      ArchitectureDifferences(off, on);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "mask_head.enabled");
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions narrow,
                       Build("mask_head { enabled: true channels: 32 "
                             "loss_weight: 2 }"));
  ASSERT_EQ(ArchitectureDifferences(on, narrow).size(), 1u);
  EXPECT_EQ(ArchitectureDifferences(on, narrow)[0].field, "mask_head.channels");
}

TEST(ModelBuilderTest, ArchitectureDifferencesNameEachFieldWithBothValues) {
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions a, Build("rcnn_fc_channels: 256"));
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions b,
      Build("rcnn_fc_channels: 128 num_classes: 5 backbone { depth: 101 } "
            "anchors { scales: [2, 4] }"));
  const std::vector<ArchitectureDifference> d = ArchitectureDifferences(a, b);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].field, "backbone.depth");
  EXPECT_EQ(d[0].a, "50");
  EXPECT_EQ(d[0].b, "101");
  EXPECT_EQ(d[1].field, "num_classes");
  EXPECT_EQ(d[1].a, "80");
  EXPECT_EQ(d[1].b, "5");
  EXPECT_EQ(d[2].field, "rcnn_fc_channels");
  EXPECT_EQ(d[2].a, "256");
  EXPECT_EQ(d[2].b, "128");
  EXPECT_EQ(d[3].field, "anchors.scales");
  EXPECT_EQ(d[3].a, "[2, 4, 7, 10, 13, 16, 24]");
  EXPECT_EQ(d[3].b, "[2, 4]");
}

TEST(ModelBuilderTest, TrainingAndTestSettingsAreNotArchitecture) {
  ASSERT_OK_AND_ASSIGN(FasterRcnnOptions a, Build(""));
  ASSERT_OK_AND_ASSIGN(
      FasterRcnnOptions b,
      Build("backbone { freeze_stem_and_layer1: false channels_last: true } "
            "rpn_targets { batch_size: 128 } test_nms_threshold: 0.6 "
            "train_proposals { post_nms_top_n: 100 }"));
  b.rpn_only = true;  // the RPN stage's copy of the same model
  EXPECT_TRUE(ArchitectureDifferences(a, b).empty());
  EXPECT_TRUE(ArchitectureDifferences(a, a).empty());
}

}  // namespace
}  // namespace sniper::models
