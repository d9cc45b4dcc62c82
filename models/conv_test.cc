#include "models/conv.h"

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace sniper::models {
namespace {

namespace nn = torch::nn;

TEST(Conv2dTest, InferenceOnTheCpuRunsOneDnnWithTheSameOutputs) {
  torch::manual_seed(3);
  struct Case {
    int64_t in, out, kernel, stride, padding, dilation, groups, batch, side;
    bool bias;
  };
  // Batch-1 small maps (LibTorch's own im2col + BLAS path), larger ones,
  // strides, dilation, depthwise, 1x1.
  for (const Case& c : {Case{64, 64, 3, 1, 1, 1, 1, 1, 16, false},
                        Case{64, 21, 1, 1, 0, 1, 1, 1, 11, true},
                        Case{32, 64, 3, 2, 1, 1, 1, 2, 24, false},
                        Case{16, 16, 3, 1, 2, 2, 1, 1, 20, true},
                        Case{24, 24, 3, 1, 1, 1, 24, 3, 13, false},
                        Case{3, 8, 7, 2, 3, 1, 1, 1, 64, false}}) {
    const auto options = nn::Conv2dOptions(c.in, c.out, c.kernel)
                             .stride(c.stride)
                             .padding(c.padding)
                             .dilation(c.dilation)
                             .groups(c.groups)
                             .bias(c.bias);
    Conv2d conv(options);
    nn::Conv2d plain(options);
    {
      torch::NoGradGuard no_grad;
      plain->weight.copy_(conv->weight);
      if (c.bias) plain->bias.copy_(conv->bias);
    }
    for (bool channels_last : {false, true}) {
      torch::Tensor x = torch::randn({c.batch, c.in, c.side, c.side});
      if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      torch::NoGradGuard no_grad;
      ASSERT_TRUE(conv->RunsOneDnnDirectly(x));
      const torch::Tensor got = conv(x);
      const torch::Tensor want = plain(x);
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4))
          << "in " << c.in << " k " << c.kernel << " groups " << c.groups
          << " channels_last " << channels_last << " max diff "
          << (got - want).abs().max().item<float>();
    }
  }
}

TEST(Conv2dTest, TrainingAndOtherTypesKeepLibTorchsChoice) {
  torch::manual_seed(4);
  Conv2d conv(nn::Conv2dOptions(8, 4, 3).padding(1));
  const torch::Tensor x = torch::randn({1, 8, 9, 9});
  // Gradients recorded: LibTorch's path, and they reach the weights.
  EXPECT_FALSE(conv->RunsOneDnnDirectly(x));
  conv(x).sum().backward();
  ASSERT_TRUE(conv->weight.grad().defined());
  EXPECT_GT(conv->weight.grad().abs().sum().item<float>(), 0);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(conv->RunsOneDnnDirectly(x));
  EXPECT_FALSE(conv->RunsOneDnnDirectly(x.to(torch::kDouble)));
  // Same parameter names as torch::nn::Conv2d (checkpoints, state dicts).
  const auto params = conv->named_parameters();
  EXPECT_TRUE(params.contains("weight"));
  EXPECT_TRUE(params.contains("bias"));
  // Non-zero padding modes are left to LibTorch.
  const auto options =
      nn::Conv2dOptions(8, 4, 3).padding(1).padding_mode(torch::kCircular);
  Conv2d circular(options);
  EXPECT_FALSE(circular->RunsOneDnnDirectly(x));
  nn::Conv2d plain(options);
  plain->weight.copy_(circular->weight);
  plain->bias.copy_(circular->bias);
  EXPECT_TRUE(torch::allclose(circular(x), plain(x), 1e-5, 1e-5));
}

// An eval-mode batch norm with moved running statistics and affine
// parameters, so that folding it changes the weights.
nn::BatchNorm2d MovedBatchNorm(int64_t channels, bool affine) {
  nn::BatchNorm2d bn(nn::BatchNorm2dOptions(channels).affine(affine));
  torch::NoGradGuard no_grad;
  bn->running_mean.uniform_(-0.5, 0.5);
  bn->running_var.uniform_(0.5, 1.5);
  if (affine) {
    bn->weight.uniform_(0.5, 2.0);
    bn->bias.uniform_(-0.5, 0.5);
  }
  bn->eval();
  return bn;
}

TEST(Conv2dTest, BatchNormFoldedIntoTheConvolutionGivesTheSameOutputs) {
  torch::manual_seed(5);
  for (bool bias : {false, true}) {
    for (bool affine : {false, true}) {
      for (int64_t groups : {1, 8}) {
        Conv2d conv(
            nn::Conv2dOptions(8, 16, 3).padding(1).groups(groups).bias(bias));
        nn::BatchNorm2d bn = MovedBatchNorm(16, affine);
        for (bool channels_last : {false, true}) {
          torch::Tensor x = torch::randn({2, 8, 12, 10});
          if (channels_last) {
            x = x.contiguous(torch::MemoryFormat::ChannelsLast);
          }
          torch::NoGradGuard no_grad;
          ASSERT_TRUE(conv->RunsOneDnnDirectly(x));
          const torch::Tensor want = bn(conv(x));
          const torch::Tensor got = conv->ForwardWithBatchNorm(x, *bn);
          ASSERT_EQ(got.sizes(), want.sizes());
          EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4))
              << "bias " << bias << " affine " << affine << " groups " << groups
              << " max diff " << (got - want).abs().max().item<float>();
        }
      }
    }
  }
}

TEST(Conv2dTest, TheFoldFollowsChangesToEitherModule) {
  torch::manual_seed(6);
  Conv2d conv(nn::Conv2dOptions(4, 6, 3).padding(1));
  nn::BatchNorm2d bn = MovedBatchNorm(6, /*affine=*/true);
  const torch::Tensor x = torch::randn({1, 4, 9, 9});
  torch::NoGradGuard no_grad;
  const torch::Tensor first = conv->ForwardWithBatchNorm(x, *bn);
  EXPECT_TRUE(torch::allclose(first, bn(conv(x)), 1e-4, 1e-4));
  // In-place changes (an optimizer step, a checkpoint load) bump the
  // tensors' versions: the next call folds again.
  bn->running_mean.add_(1.0);
  const torch::Tensor moved = conv->ForwardWithBatchNorm(x, *bn);
  EXPECT_FALSE(torch::allclose(moved, first, 1e-2, 1e-2));
  EXPECT_TRUE(torch::allclose(moved, bn(conv(x)), 1e-4, 1e-4));
  conv->weight.mul_(-1.0);
  EXPECT_TRUE(torch::allclose(conv->ForwardWithBatchNorm(x, *bn), bn(conv(x)),
                              1e-4, 1e-4));
  // Another batch norm with the same conv: folded from that one.
  nn::BatchNorm2d other = MovedBatchNorm(6, /*affine=*/true);
  EXPECT_TRUE(torch::allclose(conv->ForwardWithBatchNorm(x, *other),
                              other(conv(x)), 1e-4, 1e-4));
}

TEST(Conv2dTest, FoldingNeedsAnEvalModeBatchNormAndInference) {
  torch::manual_seed(7);
  Conv2d conv(nn::Conv2dOptions(4, 6, 1));
  nn::BatchNorm2d bn = MovedBatchNorm(6, /*affine=*/true);
  const torch::Tensor x = torch::randn({2, 4, 5, 5});
  // Gradients recorded: convolution then batch norm, and the gradients
  // reach both modules.
  const torch::Tensor y = conv->ForwardWithBatchNorm(x, *bn);
  EXPECT_TRUE(torch::allclose(y, bn(conv(x)), 1e-5, 1e-6));
  y.sum().backward();
  EXPECT_TRUE(conv->weight.grad().defined());
  EXPECT_TRUE(bn->weight.grad().defined());
  bn->train();
  torch::NoGradGuard no_grad;
  EXPECT_THROW(conv->ForwardWithBatchNorm(x, *bn), c10::Error);
}

TEST(ReluOfTemporaryTest, InPlaceOnlyWithoutGradients) {
  const torch::Tensor values = torch::tensor({-1.0f, 2.0f, -3.0f, 4.0f});
  const torch::Tensor want = torch::relu(values);
  {
    torch::NoGradGuard no_grad;
    torch::Tensor t = values.clone();
    const torch::Tensor r = ReluOfTemporary(t);
    EXPECT_EQ(r.data_ptr(), t.data_ptr());
    EXPECT_TRUE(torch::equal(r, want));
    torch::Tensor a = values.clone();
    const torch::Tensor s = AddReluOfTemporary(a, values);
    EXPECT_EQ(s.data_ptr(), a.data_ptr());
    EXPECT_TRUE(torch::equal(s, torch::relu(values * 2)));
    // x + y of another dtype or shape: a new tensor, x untouched.
    torch::Tensor h = values.clone().to(torch::kHalf);
    const torch::Tensor p = AddReluOfTemporary(h, values);
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(h, values.to(torch::kHalf)));
    torch::Tensor six = torch::tensor({-1.0f, 3.0f, 8.0f});
    EXPECT_TRUE(
        torch::equal(Relu6OfTemporary(six), torch::tensor({0.0f, 3.0f, 6.0f})));
    EXPECT_TRUE(torch::equal(six, torch::tensor({0.0f, 3.0f, 6.0f})));
  }
  // Gradients recorded: a new tensor, the input unchanged.
  torch::Tensor t = values.clone().requires_grad_(true);
  const torch::Tensor r = ReluOfTemporary(t);
  EXPECT_NE(r.data_ptr(), t.data_ptr());
  EXPECT_TRUE(torch::equal(t.detach(), values));
  EXPECT_TRUE(torch::equal(r.detach(), want));
}

}  // namespace
}  // namespace sniper::models
