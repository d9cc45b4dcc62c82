#include "models/faster_rcnn.h"

#include <iostream>

#include "gtest/gtest.h"
#include "port/torch_compat.h"

namespace sniper::models {
namespace {

// A narrow ResNet-18 (res4 at stride 16): small enough for CI.
FasterRcnnOptions Tiny(bool rpn_only = false,
                       RcnnHead head = RcnnHead::kTwoFc) {
  FasterRcnnOptions o;
  o.head = head;
  if (head == RcnnHead::kC4) {
    o.roi_align.pooled_height = o.roi_align.pooled_width = 14;
  }
  o.backbone.depth = 18;
  o.backbone.width_multiplier = 0.25;
  o.backbone.freeze_stem_and_layer1 = false;
  o.num_classes = 3;
  o.rpn_channels = 64;
  o.rcnn_reduce_channels = 32;
  o.rcnn_fc_channels = 128;
  o.rpn_only = rpn_only;
  o.train_proposals = {600, 64, 0.7, 0.0};
  o.test_proposals = {600, 64, 0.7, 0.0};
  o.rcnn_targets.batch_size = 64;
  return o;
}

// One 128x128 chip: two coloured squares (classes 0 and 2) on grey, and an
// ignore region over a third shape.
std::pair<torch::Tensor, ChipTargets> OneChip() {
  torch::Tensor img = torch::full({1, 3, 128, 128}, -0.5f);
  img.index_put_(
      {0, 0, torch::indexing::Slice(20, 60), torch::indexing::Slice(16, 64)},
      2.0f);
  img.index_put_(
      {0, 2, torch::indexing::Slice(70, 118), torch::indexing::Slice(64, 120)},
      2.0f);
  img.index_put_(
      {0, 1, torch::indexing::Slice(8, 20), torch::indexing::Slice(100, 124)},
      2.0f);
  ChipTargets t;
  t.boxes = torch::tensor({16.f, 20.f, 64.f, 60.f, 64.f, 70.f, 120.f, 118.f})
                .view({2, 4});
  t.labels = torch::tensor({0, 2}, torch::kLong);
  t.ignore = torch::tensor({100.f, 8.f, 124.f, 20.f}).view({1, 4});
  t.height = 128;
  t.width = 128;
  return {img, t};
}

class FasterRcnnHeadTest : public ::testing::TestWithParam<RcnnHead> {};

TEST_P(FasterRcnnHeadTest, LossesAreFiniteAndGradientsFlow) {
  torch::manual_seed(0);
  FasterRcnn model(Tiny(false, GetParam()));
  model->train();
  auto [img, t] = OneChip();
  const auto images = torch::cat({img, img.flip({3})}, 0);
  ChipTargets flipped = t;
  flipped.boxes =
      torch::stack({128 - t.boxes.select(1, 2), t.boxes.select(1, 1),
                    128 - t.boxes.select(1, 0), t.boxes.select(1, 3)},
                   1);
  flipped.ignore =
      torch::stack({128 - t.ignore.select(1, 2), t.ignore.select(1, 1),
                    128 - t.ignore.select(1, 0), t.ignore.select(1, 3)},
                   1);
  const auto losses = model->Losses(images, {t, flipped}, 1);
  ASSERT_EQ(losses.size(), 4u);
  torch::Tensor total = torch::zeros({});
  for (const auto& [name, l] : losses) {
    EXPECT_TRUE(torch::isfinite(l).item<bool>()) << name;
    total = total + l;
  }
  total.backward();
  int64_t with_grad = 0, without = 0;
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    if (p.value().grad().defined() &&
        p.value().grad().abs().sum().item<float>() > 0) {
      ++with_grad;
    } else {
      ++without;
      ADD_FAILURE() << "no gradient reaches " << p.key();
    }
  }
  EXPECT_GT(with_grad, 20);
  // The C4 head trains res5 on the RoIs; the 2-fc head has no res5.
  bool has_res5 = false;
  for (const auto& p : model->named_parameters()) {
    has_res5 = has_res5 || p.key().rfind("backbone.layer4.", 0) == 0;
  }
  EXPECT_EQ(has_res5, GetParam() == RcnnHead::kC4);
  // Detections have the documented shapes.
  model->eval();
  const auto dets = model->Detect(images, {{128.0, 128.0}, {128.0, 128.0}});
  ASSERT_EQ(dets.size(), 2u);
  for (const Detections& d : dets) {
    EXPECT_EQ(d.boxes.dim(), 2);
    EXPECT_EQ(d.boxes.size(1), 4);
    EXPECT_EQ(d.scores.size(0), d.boxes.size(0));
    EXPECT_EQ(d.labels.size(0), d.boxes.size(0));
  }
}

INSTANTIATE_TEST_SUITE_P(Heads, FasterRcnnHeadTest,
                         ::testing::Values(RcnnHead::kTwoFc, RcnnHead::kC4),
                         [](const auto& info) {
                           return info.param == RcnnHead::kC4
                                      ? std::string("C4")
                                      : std::string("TwoFc");
                         });

TEST(SmoothL1SumTest, QuadraticBelowBetaLinearAbove) {
  const torch::Tensor a =
      torch::tensor({0.05, -0.05, 0.5, 2.0, 0.0}, torch::kFloat64);
  const torch::Tensor b = torch::zeros({5}, torch::kFloat64);
  // beta 1/9: 0.05 is in the quadratic zone, 0.5 and 2 in the linear one.
  const double beta = 1.0 / 9;
  const double want =
      2 * (0.5 * 0.05 * 0.05 / beta) + (0.5 - beta / 2) + (2.0 - beta / 2);
  EXPECT_NEAR(SmoothL1Sum(a, b, beta).item<double>(), want, 1e-12);
  // beta 1: all but 2 are quadratic.
  const double want1 = 0.5 * (0.05 * 0.05 * 2 + 0.25) + (2.0 - 0.5);
  EXPECT_NEAR(SmoothL1Sum(a, b, 1.0).item<double>(), want1, 1e-12);
}

TEST(FasterRcnnTest, TinyModelOverfitsOneChip) {
  torch::manual_seed(3);
  FasterRcnn model(Tiny());
  model->train();
  auto [img, t] = OneChip();
  torch::optim::SGD opt(model->parameters(),
                        torch::optim::SGDOptions(0.02).momentum(0.9));
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const auto losses = model->Losses(img, {t}, step);
    torch::Tensor total = torch::zeros({});
    for (const auto& [name, l] : losses) total = total + l;
    compat::ZeroGrad(opt);
    total.backward();
    opt.step();
    if (step == 0) first = total.item<float>();
    last = total.item<float>();
  }
  std::cout << "total loss " << first << " -> " << last << " in 60 steps\n";
  EXPECT_LT(last, 0.35f * first) << "first " << first << " last " << last;
  // Detection after overfitting: the two objects are found with their
  // classes; the ignored shape is not required.
  model->eval();
  const auto dets = model->Detect(img, {{128.0, 128.0}});
  ASSERT_EQ(dets.size(), 1u);
  ASSERT_GT(dets[0].boxes.size(0), 0);
  EXPECT_EQ(dets[0].boxes.size(1), 4);
}

TEST(FasterRcnnTest, RpnOnlyModeHasTwoLossesAndProposals) {
  torch::manual_seed(1);
  FasterRcnn model(Tiny(/*rpn_only=*/true));
  auto [img, t] = OneChip();
  const auto losses = model->Losses(img, {t}, 0);
  EXPECT_EQ(losses.size(), 2u);
  EXPECT_TRUE(losses.count("rpn_cls"));
  model->eval();
  const auto dets = model->Detect(img, {{128.0, 128.0}});
  EXPECT_GT(dets[0].boxes.size(0), 0);
  EXPECT_LE(dets[0].boxes.size(0), 64);
  EXPECT_TRUE((dets[0].scores >= 0).all().item<bool>());
}

}  // namespace
}  // namespace sniper::models
