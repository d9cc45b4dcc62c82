// Links LibTorch and runs one convolution, so a broken @libtorch repository
// (wrong prefix, ABI mismatch, missing library) fails here first.
#include <torch/torch.h>

#include "gtest/gtest.h"
#include "port/main_guard.h"

namespace sniper {
namespace {

TEST(TorchLinkTest, ConvolutionRuns) {
  torch::manual_seed(0);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 4, 3).padding(1));
  torch::NoGradGuard no_grad;
  conv->weight.fill_(1.0);
  conv->bias.zero_();
  const torch::Tensor out = conv(torch::ones({1, 3, 5, 5}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 4, 5, 5}));
  // Centre pixel sums a full 3x3x3 window of ones; the corner sees 2x2x3.
  EXPECT_FLOAT_EQ(out[0][0][2][2].item<float>(), 27.0f);
  EXPECT_FLOAT_EQ(out[0][0][0][0].item<float>(), 12.0f);
}

// A LibTorch error's what() carries a C++ backtrace; the one line a binary
// prints for it (port/main_guard.h) is the message alone.
TEST(TorchLinkTest, TorchErrorBecomesItsMessageOnOneLine) {
  try {
    TORCH_CHECK(false, "sizes differ: ", 3, " vs ", 4);
    FAIL() << "TORCH_CHECK did not throw";
  } catch (const c10::Error& e) {
    EXPECT_EQ(OneLineMessage(e.what()), "sizes differ: 3 vs 4") << e.what();
  }
}

}  // namespace
}  // namespace sniper
