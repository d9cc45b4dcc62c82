#include "models/mobilenet_v2.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "models/backbone.h"
#include "models/testing/python_oracle.h"

namespace sniper::models {
namespace {

using ::testing::HasSubstr;

BackboneOptions Mobile(double width, bool dilated, int stages = 4) {
  BackboneOptions o;
  o.type = BackboneType::kMobileNetV2;
  o.width_multiplier = width;
  o.res5_dilation = dilated;
  o.stages = stages;
  return o;
}

int64_t Count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(MobileNetV2Test, MakeDivisibleIsTorchvisions) {
  EXPECT_EQ(MakeDivisible(32 * 1.0), 32);
  EXPECT_EQ(MakeDivisible(32 * 0.25), 8);
  EXPECT_EQ(MakeDivisible(16 * 0.35), 8);
  EXPECT_EQ(MakeDivisible(96 * 0.5), 48);
  EXPECT_EQ(MakeDivisible(24 * 0.75), 24);  // 16 would lose over 10%
  EXPECT_EQ(MakeDivisible(1280 * 1.4), 1792);
}

TEST(MobileNetV2Test, ShapesStridesAndChannels) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({2, 3, 128, 96});
  // Full width, stride 32 (torchvision's features): 2,223,872 parameters,
  // torchvision's 3,504,872 less the classifier's 1,281,000.
  MobileNetV2 plain(Mobile(1.0, /*dilated=*/false));
  EXPECT_EQ(Count(*plain), 3504872 - 1281000);
  EXPECT_EQ(plain->trunk_channels(), 96);
  EXPECT_EQ(plain->feature_channels(), 1280);
  EXPECT_EQ(plain->feature_stride(), 32);
  plain->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(plain->Features(x).sizes(), (std::vector<int64_t>{2, 1280, 4, 3}));
  // Dilated res5: the same channels at stride 16.
  MobileNetV2 dilated(Mobile(0.5, /*dilated=*/true));
  dilated->eval();
  EXPECT_EQ(dilated->feature_stride(), 16);
  EXPECT_EQ(dilated->Features(x).sizes(),
            (std::vector<int64_t>{2, 1280, 8, 6}));
  // res4 only: features.14 and later are not built.
  MobileNetV2 trunk(Mobile(0.25, /*dilated=*/true, /*stages=*/3));
  trunk->eval();
  EXPECT_EQ(trunk->feature_channels(), 24);
  EXPECT_EQ(trunk->feature_stride(), 16);
  EXPECT_EQ(trunk->Features(x).sizes(), (std::vector<int64_t>{2, 24, 8, 6}));
  for (const auto& p : trunk->named_parameters()) {
    EXPECT_THAT(p.key(), ::testing::Not(HasSubstr("features.14.")));
  }
  // The C4-style head: res5 (stride 2) on pooled RoIs.
  BackboneOptions head = Mobile(0.25, /*dilated=*/false);
  head.res5_as_head = true;
  MobileNetV2 c4(head);
  c4->eval();
  EXPECT_EQ(c4->feature_channels(), 24);
  EXPECT_EQ(c4->feature_stride(), 16);
  EXPECT_EQ(c4->head_channels(), 1280);
  EXPECT_EQ(c4->RunHead(torch::randn({5, 24, 14, 14})).sizes(),
            (std::vector<int64_t>{5, 1280, 7, 7}));
  EXPECT_THAT(std::string(ValidateBackboneOptions(Mobile(0, false)).message()),
              HasSubstr("width_multiplier"));
}

TEST(MobileNetV2Test, FreezingFixesTheStemAndBatchNorm) {
  BackboneOptions o = Mobile(0.25, /*dilated=*/true);
  MobileNetV2 net(o);
  net->train();
  for (const auto& p : net->named_parameters()) {
    const bool stem = p.key().rfind("features.0.", 0) == 0 ||
                      p.key().rfind("features.1.", 0) == 0 ||
                      p.key().rfind("features.2.", 0) == 0 ||
                      p.key().rfind("features.3.", 0) == 0;
    EXPECT_EQ(p.value().requires_grad(), !stem) << p.key();
  }
  for (const auto& m : net->named_modules()) {
    if (auto* bn = m.value()->as<torch::nn::BatchNorm2d>()) {
      const bool stem = m.key().rfind("features.3.", 0) == 0 ||
                        m.key().rfind("features.0.", 0) == 0;
      if (stem) {
        EXPECT_FALSE(bn->is_training()) << m.key();
      }
      if (m.key().rfind("features.4.", 0) == 0) {
        EXPECT_TRUE(bn->is_training()) << m.key();
      }
    }
  }
  o.freeze_stem_and_layer1 = false;
  o.freeze_all_bn = true;
  MobileNetV2 bn_frozen(o);
  bn_frozen->train();
  for (const auto& m : bn_frozen->named_modules()) {
    if (auto* bn = m.value()->as<torch::nn::BatchNorm2d>()) {
      EXPECT_FALSE(bn->is_training()) << m.key();
      EXPECT_FALSE(bn->weight.requires_grad()) << m.key();
    }
  }
  EXPECT_TRUE(
      bn_frozen->named_parameters()["features.0.0.weight"].requires_grad());
}

TEST(MobileNetV2Test, ChannelsLastGivesTheSameFeatures) {
  torch::manual_seed(1);
  BackboneOptions o = Mobile(0.5, /*dilated=*/true);
  MobileNetV2 a(o);
  o.channels_last = true;
  MobileNetV2 b(o);
  {
    torch::NoGradGuard no_grad;
    auto pa = a->named_parameters();
    for (auto& p : b->named_parameters()) p.value().copy_(pa[p.key()]);
  }
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 3, 64, 80});
  EXPECT_TRUE(torch::allclose(a->Features(x), b->Features(x), 1e-4, 1e-5));
}

// torchvision makes random MobileNetV2s, saves their state dicts, an input
// and its features; ours loads each checkpoint and must give the same
// features (the weight-loading cross-check, as ResNet's).
constexpr char kScript[] = R"PY(
import sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)
for name, width in [("w100", 1.0), ("w050", 0.5), ("w035", 0.35)]:
    m = torchvision.models.mobilenet_v2(weights=None, width_mult=width)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    torch.save(m.state_dict(), f"{out}/{name}.pt")
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        r4 = m.features[:14](x)
        r5 = m.features[14:](r4)
    torch.save({"x": x, "res4": r4, "res5": r5}, f"{out}/{name}_io.pt")
)PY";

TEST(MobileNetV2Test, MatchesTorchvisionOnItsCheckpoint) {
  if (auto why = testing::PythonLacks("torchvision"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string dir = ::testing::TempDir();
  ASSERT_TRUE(testing::RunPythonScript(dir, "make_mobilenet.py", kScript));
  for (const auto& [name, width] : std::vector<std::pair<std::string, double>>{
           {"w100", 1.0}, {"w050", 0.5}, {"w035", 0.35}}) {
    MobileNetV2 net(Mobile(width, /*dilated=*/false));
    int64_t ignored = 0;
    const absl::Status s =
        LoadTorchvisionStateDict(dir + "/" + name + ".pt", *net, &ignored);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(ignored, 2);  // classifier.1.weight, classifier.1.bias
    net->eval();
    const auto io = testing::LoadTensorDict(dir + "/" + name + "_io.pt");
    torch::NoGradGuard no_grad;
    const torch::Tensor r4 = net->Trunk(io.at("x"));
    const std::map<std::string, torch::Tensor> got = {{"res4", r4},
                                                      {"res5", net->Tail(r4)}};
    for (const char* level : {"res4", "res5"}) {
      const torch::Tensor want = io.at(level);
      ASSERT_EQ(got.at(level).sizes(), want.sizes()) << name << " " << level;
      const float err = (got.at(level) - want).abs().max().item<float>();
      const float scale = want.abs().max().item<float>();
      EXPECT_LT(err, 1e-4f * std::max(1.0f, scale)) << name << " " << level;
      std::printf(
          "width %.2f %s: largest difference %.3g (largest value %.3g)\n",
          width, level, err, scale);
    }
  }
  // The trunk alone loads the same file (features.14-18 ignored), and a
  // checkpoint of another width is refused naming the entry.
  MobileNetV2 trunk(Mobile(1.0, /*dilated=*/true, /*stages=*/3));
  int64_t ignored = 0;
  ASSERT_TRUE(
      LoadTorchvisionStateDict(dir + "/w100.pt", *trunk, &ignored).ok());
  EXPECT_GT(ignored, 2);
  MobileNetV2 narrow(Mobile(0.5, /*dilated=*/false));
  EXPECT_THAT(
      std::string(
          LoadTorchvisionStateDict(dir + "/w100.pt", *narrow).message()),
      HasSubstr("features.0.0.weight has shape"));
}

}  // namespace
}  // namespace sniper::models
