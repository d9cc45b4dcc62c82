// File: models/mask_head_test.cc
#include "models/mask_head.h"

#include <cmath>

#include "gtest/gtest.h"

namespace sniper::models {
namespace {

TEST(MaskHeadTest, OutputShapesOfBothForms) {
  MaskHeadOptions o;
  o.channels = 8;
  o.convs = 2;
  MaskHead two_fc(16, 5, o, /*from_res5=*/false);
  EXPECT_EQ(two_fc->forward(torch::randn({3, 16, 14, 14})).sizes(),
            (std::vector<int64_t>{3, 5, 28, 28}));
  MaskHead c4(32, 5, o, /*from_res5=*/true);
  EXPECT_EQ(c4->forward(torch::randn({2, 32, 7, 7})).sizes(),
            (std::vector<int64_t>{2, 5, 14, 14}));
  // No RoIs (a batch without foreground): empty logits, and backward
  // works (it did not through torch::pixel_shuffle in LibTorch 1.13).
  const torch::Tensor none =
      torch::zeros({0, 16, 14, 14}, torch::requires_grad());
  const torch::Tensor empty = two_fc->forward(none);
  EXPECT_EQ(empty.sizes(), (std::vector<int64_t>{0, 5, 28, 28}));
  EXPECT_NO_THROW(empty.sum().backward());
  // The C4 form has no 3x3 convolutions.
  for (const auto& p : c4->named_parameters()) {
    EXPECT_EQ(p.key().find("conv1"), std::string::npos) << p.key();
  }
}

TEST(MaskHeadTest, UpsamplingIsTheStrideTwoDeconvolution) {
  // A 1x1 convolution to 4C channels + pixel shuffle computes what a 2x2
  // stride-2 ConvTranspose2d computes, with weight[c * 4 + 2 i + j][k] =
  // deconv weight[k][c][i][j].
  torch::manual_seed(1);
  const int64_t cin = 3, c = 2;
  torch::nn::ConvTranspose2d deconv(
      torch::nn::ConvTranspose2dOptions(cin, c, 2).stride(2));
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(cin, 4 * c, 1));
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor w = deconv->weight;  // [cin, c, 2, 2]
    conv->weight.copy_(w.permute({1, 2, 3, 0}).reshape({4 * c, cin, 1, 1}));
    conv->bias.copy_(deconv->bias.repeat_interleave(4));
  }
  const torch::Tensor x = torch::randn({2, cin, 5, 4});
  EXPECT_TRUE(
      torch::allclose(torch::pixel_shuffle(conv(x), 2), deconv(x), 1e-5, 1e-6));
}

TEST(MaskHeadTest, TargetsCoverTheRoiAndSkipBoxesWithoutMasks) {
  // A polygon filling image box [10, 20) x [30, 40), seen in a chip at
  // scale 2 from offset (4, 50): chip box [16, 36) x [10, 30).
  masks::Segmentation square;
  square.AddPolygon(std::vector<double>{10, 30, 20, 30, 20, 40, 10, 40});
  ChipMasks chip;
  chip.segmentations = {&square, nullptr};
  chip.frame.scale = 2;
  chip.frame.offset_x = 4;
  chip.frame.offset_y = 50;
  const torch::Tensor rois = torch::tensor({16.f, 10.f, 36.f, 30.f,  // exact
                                            -4.f, 10.f, 36.f, 30.f,  // wider
                                            0.f, 0.f, 8.f, 8.f})     // box 1
                                 .view({3, 4});
  const auto [t, ok] =
      MaskTargets(chip, rois, torch::tensor({0, 0, 1}, torch::kLong), 10);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 10, 10}));
  EXPECT_EQ(t[0].sum().item<float>(), 100);
  // RoI 1 spans chip x -4..36 (4 px per cell); the square starts at 16:
  // 5 empty columns, 5 full ones.
  EXPECT_EQ(t[1].sum().item<float>(), 50);
  EXPECT_EQ(t[1].slice(1, 0, 5).sum().item<float>(), 0);
  EXPECT_TRUE(ok[0].item<bool>());
  EXPECT_TRUE(ok[1].item<bool>());
  EXPECT_FALSE(ok[2].item<bool>());
  // A match outside the chip's boxes is a bug upstream: an error.
  EXPECT_THROW(MaskTargets(chip, rois.slice(0, 0, 1),
                           torch::tensor({2}, torch::kLong), 10),
               c10::Error);
}

TEST(MaskHeadTest, LossIsTheBinaryCrossEntropyOfTheGroundTruthClass) {
  // Two RoIs, two classes, 2x2 masks. RoI 0 is class 1, RoI 1 class 0; the
  // other class's logits are huge and must not matter.
  torch::Tensor logits = torch::full({2, 2, 2, 2}, 50.0f);
  logits[0][1] = torch::tensor({0.f, 1.f, -1.f, 2.f}).view({2, 2});
  logits[1][0] = torch::tensor({0.f, 0.f, 3.f, -3.f}).view({2, 2});
  const torch::Tensor targets =
      torch::tensor({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f}).view({2, 2, 2});
  const torch::Tensor classes = torch::tensor({1, 0}, torch::kLong);
  auto bce = [](double z, double y) {
    return std::log1p(std::exp(-std::abs(z))) + std::max(z, 0.0) - z * y;
  };
  const double want = (bce(0, 1) + bce(1, 0) + bce(-1, 1) + bce(2, 1) +
                       bce(0, 0) + bce(0, 1) + bce(3, 1) + bce(-3, 0)) /
                      8;
  EXPECT_NEAR(MaskLoss(logits, classes, targets).item<double>(), want, 1e-6);
  const torch::Tensor p = MaskProbabilities(logits, classes);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_NEAR(p[0][0][1].item<float>(), 1 / (1 + std::exp(-1.0)), 1e-6);
  // No RoIs: a zero loss that still backpropagates.
  torch::Tensor none = torch::zeros({0, 2, 2, 2}, torch::requires_grad());
  const torch::Tensor l =
      MaskLoss(none, torch::zeros({0}, torch::kLong), torch::zeros({0, 2, 2}));
  EXPECT_EQ(l.item<float>(), 0);
  l.backward();
}

}  // namespace
}  // namespace sniper::models
