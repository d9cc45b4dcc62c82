#include "models/faster_rcnn.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/testing/tiny_models.h"
#include "port/torch_compat.h"

namespace sniper::models {
namespace {

class FasterRcnnHeadTest : public ::testing::TestWithParam<testing::HeadCase> {
};

TEST_P(FasterRcnnHeadTest, LossesAreFiniteAndGradientsFlow) {
  torch::manual_seed(0);
  FasterRcnn model(testing::SmallFasterRcnnOptions(false, GetParam().head,
                                                   GetParam().backbone));
  model->train();
  auto [img, t] = testing::OneChip();
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
  // The C4 head trains res5 on the RoIs; the 2-fc head has no res5 on
  // ResNet-18 (res4 features), a dilated one on MobileNetV2.
  bool has_res5 = false;
  for (const auto& p : model->named_parameters()) {
    has_res5 = has_res5 || p.key().rfind("backbone.layer4.", 0) == 0 ||
               p.key().rfind("backbone.features.18.", 0) == 0;
  }
  EXPECT_EQ(has_res5, GetParam().head == RcnnHead::kC4 ||
                          GetParam().backbone == BackboneType::kMobileNetV2);
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
                         ::testing::ValuesIn(testing::AllHeads()),
                         testing::HeadCaseName());

TEST(BoxesInSizeRangeTest, KeepsRowsWhoseSqrtAreaIsInRange) {
  // sqrt(area): 10, 20, 40 (a 20x80 box), 0 (degenerate).
  const torch::Tensor boxes = torch::tensor({{0.f, 0.f, 10.f, 10.f},
                                             {5.f, 5.f, 25.f, 25.f},
                                             {0.f, 0.f, 20.f, 80.f},
                                             {3.f, 3.f, 3.f, 9.f}});
  auto kept = [&](double lo, double hi) {
    const torch::Tensor k = BoxesInSizeRange(boxes, lo, hi);
    std::vector<float> x1;
    for (int64_t i = 0; i < k.size(0); ++i) {
      x1.push_back(k[i][2].item<float>());
    }
    return x1;
  };
  EXPECT_THAT(kept(0, INFINITY), ::testing::ElementsAre(10, 25, 20, 3));
  EXPECT_THAT(kept(10, 40), ::testing::ElementsAre(10, 25));  // [10, 40)
  EXPECT_THAT(kept(15, INFINITY), ::testing::ElementsAre(25, 20));
  EXPECT_THAT(kept(0, 10), ::testing::ElementsAre(3));
}

TEST(KeepProposalSizesTest, EachChipKeepsItsOwnRange) {
  // (chip, x1, y1, x2, y2); sqrt(area): 10, 20, 40 on chip 0, 10, 40 on 1.
  const torch::Tensor p = torch::tensor({{0.f, 0.f, 0.f, 10.f, 10.f},
                                         {0.f, 5.f, 5.f, 25.f, 25.f},
                                         {0.f, 0.f, 0.f, 20.f, 80.f},
                                         {1.f, 0.f, 0.f, 10.f, 10.f},
                                         {1.f, 0.f, 0.f, 40.f, 40.f}});
  auto kept = [&](std::vector<ProposalSizeRange> ranges) {
    const torch::Tensor k = KeepProposalSizes(p, ranges);
    std::vector<float> x2;
    for (int64_t i = 0; i < k.size(0); ++i) x2.push_back(k[i][3].item<float>());
    return x2;
  };
  EXPECT_THAT(kept({{0, INFINITY}, {0, INFINITY}}),
              ::testing::ElementsAre(10, 25, 20, 10, 40));
  // Chip 0 keeps [15, 40), chip 1 [0, 20): half-open like the valid ranges.
  EXPECT_THAT(kept({{15, 40}, {0, 20}}), ::testing::ElementsAre(25, 10));
  EXPECT_THAT(kept({{40, INFINITY}, {40, INFINITY}}),
              ::testing::ElementsAre(20, 40));
  EXPECT_EQ(KeepProposalSizes(p, {{1e9, INFINITY}, {1e9, INFINITY}}).size(0),
            0);
}

TEST(FasterRcnnTest, DetectKeepsOnlyProposalsOfTheGivenSizes) {
  torch::manual_seed(2);
  FasterRcnn model(testing::SmallFasterRcnnOptions());
  model->eval();
  auto [img, t] = testing::OneChip();
  const std::vector<std::pair<double, double>> sizes = {{128.0, 128.0}};
  const auto all = model->Detect(img, sizes);
  // Every size: the same detections as without a range.
  const std::vector<ProposalSizeRange> every = {{0, INFINITY}};
  const auto same = model->Detect(img, sizes, nullptr, &every);
  ASSERT_GT(all[0].boxes.size(0), 0);
  EXPECT_TRUE(torch::equal(same[0].boxes, all[0].boxes));
  EXPECT_TRUE(torch::equal(same[0].scores, all[0].scores));
  // No proposal of that size: no RoI reaches the head, no detection.
  const std::vector<ProposalSizeRange> none = {{1e6, INFINITY}};
  const auto empty = model->Detect(img, sizes, nullptr, &none);
  EXPECT_EQ(empty[0].boxes.size(0), 0);
  EXPECT_EQ(empty[0].boxes.size(1), 4);
  // One range per chip.
  const std::vector<ProposalSizeRange> two = {{0, INFINITY}, {0, INFINITY}};
  EXPECT_THROW(model->Detect(img, sizes, nullptr, &two), c10::Error);
}

TEST(FasterRcnnTest, TinyModelOverfitsOneChip) {
  torch::manual_seed(3);
  FasterRcnn model(testing::SmallFasterRcnnOptions());
  model->train();
  auto [img, t] = testing::OneChip();
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
  FasterRcnn model(testing::SmallFasterRcnnOptions(/*rpn_only=*/true));
  auto [img, t] = testing::OneChip();
  const auto losses = model->Losses(img, {t}, 0);
  EXPECT_EQ(losses.size(), 2u);
  EXPECT_TRUE(losses.count("rpn_cls"));
  model->eval();
  const auto dets = model->Detect(img, {{128.0, 128.0}});
  EXPECT_GT(dets[0].boxes.size(0), 0);
  EXPECT_LE(dets[0].boxes.size(0), 64);
  EXPECT_TRUE((dets[0].scores >= 0).all().item<bool>());
}

TEST(FasterRcnnTest, FocusBranchLearnsWhereSmallObjectsAre) {
  torch::manual_seed(5);
  FasterRcnnOptions o = testing::SmallFasterRcnnOptions();
  o.focus = true;
  o.focus_channels = 32;
  FasterRcnn model(o);
  model->train();
  auto [img, t] = testing::OneChip();
  const auto losses = model->Losses(img, {t}, 0);
  ASSERT_EQ(losses.size(), 5u);
  ASSERT_TRUE(losses.count("focus"));
  // Zero-initialized logits: the loss starts at log 2 per labelled cell.
  EXPECT_NEAR(losses.at("focus").item<float>(), std::log(2.0f), 0.05f);
  torch::optim::SGD opt(model->parameters(),
                        torch::optim::SGDOptions(0.05).momentum(0.9));
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const auto l = model->Losses(img, {t}, step);
    torch::Tensor total = torch::zeros({});
    for (const auto& [name, v] : l) total = total + v;
    compat::ZeroGrad(opt);
    total.backward();
    opt.step();
    if (step == 0) first = l.at("focus").item<float>();
    last = l.at("focus").item<float>();
  }
  EXPECT_LT(last, 0.5f * first) << "focus loss " << first << " -> " << last;
  model->eval();
  const auto dets = model->Detect(img, {{128.0, 128.0}});
  ASSERT_TRUE(dets[0].focus.defined());
  ASSERT_EQ(dets[0].focus.sizes(), (std::vector<int64_t>{8, 8}));
  const torch::Tensor labels = FocusTargets({t}, 8, 8, o.focus_labels)[0];
  const torch::Tensor p = dets[0].focus;
  EXPECT_TRUE(((p >= 0) & (p <= 1)).all().item<bool>());
  const float on = p.masked_select(labels == 1).mean().item<float>();
  const float off = p.masked_select(labels == 0).mean().item<float>();
  EXPECT_GT(on, off + 0.3f) << "positive cells " << on << ", negative " << off;
  // Without the branch, or in the RPN-only model, there is no map and no
  // focus weight.
  FasterRcnnOptions rpn = o;
  rpn.rpn_only = true;
  FasterRcnn rpn_model(rpn);
  for (const auto& q : rpn_model->named_parameters()) {
    EXPECT_EQ(q.key().find("focus"), std::string::npos) << q.key();
  }
  EXPECT_EQ(rpn_model->Losses(img, {t}, 0).size(), 2u);
  FasterRcnn plain(testing::SmallFasterRcnnOptions());
  plain->eval();
  EXPECT_FALSE(plain->Detect(img, {{128.0, 128.0}})[0].focus.defined());
}

}  // namespace
}  // namespace sniper::models
