#include "models/resnet.h"

#include <cstdlib>
#include <fstream>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/testing/python_oracle.h"

namespace sniper::models {
namespace {

BackboneOptions Small(int depth, double width = 0.25) {
  BackboneOptions o;
  o.depth = depth;
  o.width_multiplier = width;
  return o;
}

TEST(ResNetTest, ShapesAndStrides) {
  torch::manual_seed(0);
  for (int depth : {18, 34, 50, 101}) {
    for (bool dilate : {true, false}) {
      BackboneOptions o = Small(depth);
      o.res5_dilation = dilate;
      ResNet net(o);
      const auto out = net->forward(torch::randn({2, 3, 64, 96}));
      const bool dilated = dilate && depth >= 50;
      EXPECT_EQ(net->stride("res4"), 16);
      EXPECT_EQ(net->stride("res5"), dilated ? 16 : 32) << depth;
      for (const char* level : {"res2", "res3", "res4", "res5"}) {
        const torch::Tensor& t = out.at(level);
        EXPECT_EQ(t.size(0), 2);
        EXPECT_EQ(t.size(1), net->channels(level)) << level;
        EXPECT_EQ(t.size(2), 64 / net->stride(level)) << level;
        EXPECT_EQ(t.size(3), 96 / net->stride(level)) << level;
      }
    }
  }
}

TEST(ResNetTest, ParameterNamesAndCountsMatchTorchvision) {
  BackboneOptions o;
  o.depth = 50;
  o.res5_dilation = false;
  ResNet net(o);
  std::set<std::string> names;
  int64_t count = 0;
  for (const auto& p : net->named_parameters()) {
    names.insert(p.key());
    count += p.value().numel();
  }
  // torchvision resnet50: 25,557,032 parameters, of which fc has 2,049,000.
  EXPECT_EQ(count, 25557032 - 2049000);
  for (const char* n :
       {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight",
        "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias",
        "layer3.5.conv3.weight", "layer4.2.bn3.weight"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  std::set<std::string> buffers;
  for (const auto& b : net->named_buffers()) buffers.insert(b.key());
  EXPECT_TRUE(buffers.count("bn1.running_mean"));
  EXPECT_TRUE(buffers.count("layer2.0.downsample.1.num_batches_tracked"));
  ResNet r18(Small(18, 1.0));
  int64_t c18 = 0;
  for (const auto& p : r18->parameters()) c18 += p.numel();
  EXPECT_EQ(c18, 11689512 - 513000);  // torchvision resnet18 minus fc
}

TEST(ResNetTest, GradientsReachTrainableParametersOnly) {
  torch::manual_seed(1);
  ResNet net(Small(50));
  net->train();
  const auto out = net->forward(torch::randn({2, 3, 64, 64}));
  (out.at("res5").sum() + out.at("res4").sum()).backward();
  int trainable = 0, frozen = 0;
  for (const auto& p : net->named_parameters()) {
    const bool is_frozen = p.key().rfind("conv1.", 0) == 0 ||
                           p.key().rfind("bn1.", 0) == 0 ||
                           p.key().rfind("layer1.", 0) == 0;
    if (is_frozen) {
      EXPECT_FALSE(p.value().requires_grad()) << p.key();
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
      ++frozen;
    } else {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0) << p.key();
      ++trainable;
    }
  }
  EXPECT_GT(frozen, 10);
  EXPECT_GT(trainable, 100);
}

TEST(ResNetTest, FrozenBatchNormStaysInEvalMode) {
  BackboneOptions o = Small(18);
  ResNet net(o);
  net->train(true);
  for (const auto& m : net->named_modules()) {
    if (m.value()->as<torch::nn::BatchNorm2d>() == nullptr) continue;
    const bool frozen = m.key() == "bn1" || m.key().rfind("layer1.", 0) == 0;
    EXPECT_EQ(m.value()->is_training(), !frozen) << m.key();
  }
  o.freeze_all_bn = true;
  ResNet all(o);
  all->train(true);
  for (const auto& m : all->named_modules()) {
    if (auto* bn = m.value()->as<torch::nn::BatchNorm2d>()) {
      EXPECT_FALSE(bn->is_training()) << m.key();
      EXPECT_FALSE(bn->weight.requires_grad()) << m.key();
    }
  }
  BackboneOptions bad;
  bad.depth = 42;
  EXPECT_THAT(std::string(ValidateBackboneOptions(bad).message()),
              ::testing::HasSubstr("depth: must be 18, 34, 50 or 101, got 42"));
  BackboneOptions three = Small(18);
  three.stages = 3;
  ResNet r(three);
  const auto out = r->forward(torch::randn({1, 3, 64, 64}));
  EXPECT_EQ(out.count("res5"), 0u);
  EXPECT_EQ(out.at("res4").size(2), 4);
  for (const auto& p : r->named_parameters()) {
    EXPECT_NE(p.key().rfind("layer4", 0), 0u) << p.key();
  }
}

// Batch statistics at test time: in eval mode the features are those of
// training mode (every BN layer normalised by the batch's own statistics),
// the running averages stay as they were, and switching back restores the
// running-average features.
TEST(ResNetTest, EvalBatchStatisticsNormaliseByTheBatch) {
  torch::manual_seed(0);
  BackboneOptions o = Small(18);
  o.freeze_stem_and_layer1 = false;
  ResNet net(o);
  torch::NoGradGuard no_grad;
  for (const auto& m : net->modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 1.5);
    }
  }
  std::vector<torch::Tensor> before;
  for (const auto& b : net->named_buffers())
    before.push_back(b.value().clone());
  const torch::Tensor x = torch::randn({2, 3, 64, 96});
  net->eval();
  const torch::Tensor running = net->forward(x).at("res5");
  net->SetEvalBatchStatistics(true);
  const torch::Tensor batch = net->forward(x).at("res5");
  size_t i = 0;
  for (const auto& b : net->named_buffers()) {
    EXPECT_TRUE(torch::equal(b.value(), before[i++])) << b.key();
  }
  net->train(true);
  const torch::Tensor trained = net->forward(x).at("res5");
  EXPECT_TRUE(torch::allclose(batch, trained, 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(batch, running, 1e-2, 1e-3));
  net->eval();
  net->SetEvalBatchStatistics(false);
  // The training-mode pass moved the running averages: put them back.
  i = 0;
  for (const auto& b : net->named_buffers()) b.value().copy_(before[i++]);
  EXPECT_TRUE(torch::allclose(net->forward(x).at("res5"), running));
  // Frozen layers keep their running statistics: the stem and layer1 here
  // (res2 unchanged, res3 not), every layer with freeze_all_bn.
  ResNet frozen(Small(18));
  frozen->eval();
  const auto plain = frozen->forward(x);
  frozen->SetEvalBatchStatistics(true);
  const auto stats = frozen->forward(x);
  EXPECT_TRUE(torch::equal(stats.at("res2"), plain.at("res2")));
  EXPECT_FALSE(torch::allclose(stats.at("res3"), plain.at("res3"), 1e-2, 1e-3));
  BackboneOptions all = Small(18);
  all.freeze_all_bn = true;
  ResNet none(all);
  none->eval();
  const torch::Tensor none_plain = none->forward(x).at("res5");
  none->SetEvalBatchStatistics(true);
  EXPECT_TRUE(torch::equal(none->forward(x).at("res5"), none_plain));
}

// torchvision makes a random model, saves its state dict, an input and its
// features; ours loads the checkpoint and must give the same features.
constexpr char kScript[] = R"PY(
import sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)
for name, ctor, dilate in [("r18", torchvision.models.resnet18, False),
                           ("r50", torchvision.models.resnet50, False),
                           ("r50d", torchvision.models.resnet50, True)]:
    kw = {"replace_stride_with_dilation": [False, False, True]} if dilate else {}
    m = ctor(weights=None, **kw)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    sd = m.state_dict()
    # model.state_dict() as is (an OrderedDict), a list of pairs, and a
    # training checkpoint holding it.
    obj = {"r18": sd, "r50": list(sd.items()),
           "r50d": {"epoch": 3, "state_dict": sd}}[name]
    torch.save(obj, f"{out}/{name}.pt")
    if name == "r18":
        torch.save(sd, f"{out}/r18_legacy.pt", _use_new_zipfile_serialization=False)
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        y = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        y = m.layer1(y); y = m.layer2(y); r4 = m.layer3(y); r5 = m.layer4(r4)
    torch.save({"x": x, "res4": r4, "res5": r5}, f"{out}/{name}_io.pt")
)PY";

TEST(ResNetTest, MatchesTorchvisionOnItsCheckpoint) {
  if (auto why = testing::PythonLacks("torchvision"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const std::string dir = ::testing::TempDir();
  ASSERT_TRUE(testing::RunPythonScript(dir, "make.py", kScript));
  struct Case {
    const char* name;
    int depth;
    bool dilate;
  };
  for (const Case& c : {Case{"r18", 18, false}, Case{"r50", 50, false},
                        Case{"r50d", 50, true}}) {
    BackboneOptions o;
    o.depth = c.depth;
    o.res5_dilation = c.dilate;
    ResNet net(o);
    int64_t ignored = 0;
    const absl::Status s =
        LoadTorchvisionStateDict(dir + "/" + c.name + ".pt", *net, &ignored);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(ignored, 2);  // fc.weight, fc.bias
    net->eval();
    const auto io = testing::LoadTensorDict(dir + "/" + c.name + "_io.pt");
    torch::NoGradGuard no_grad;
    const auto out = net->forward(io.at("x"));
    for (const char* level : {"res4", "res5"}) {
      const torch::Tensor want = io.at(level);
      ASSERT_EQ(out.at(level).sizes(), want.sizes()) << c.name << " " << level;
      const float err = (out.at(level) - want).abs().max().item<float>();
      const float scale = want.abs().max().item<float>();
      EXPECT_LT(err, 1e-4f * std::max(1.0f, scale)) << c.name << " " << level;
    }
  }
  // A checkpoint of another architecture is refused, naming the entry.
  ResNet r18(Small(18, 1.0));
  const absl::Status s = LoadTorchvisionStateDict(dir + "/r50.pt", *r18);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("has shape"));
  EXPECT_EQ(LoadTorchvisionStateDict(dir + "/nope.pt", *r18).code(),
            absl::StatusCode::kNotFound);
  // The pre-1.6 format: a clear error with the fix.
  const absl::Status legacy =
      LoadTorchvisionStateDict(dir + "/r18_legacy.pt", *r18);
  EXPECT_EQ(legacy.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(legacy.message()), ::testing::HasSubstr("legacy"));
}

}  // namespace
}  // namespace sniper::models
