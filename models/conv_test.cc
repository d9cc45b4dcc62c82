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

}  // namespace
}  // namespace sniper::models
