// The learning-rate schedule (warm-up, each decay boundary, the step
// count) and SGD's parameter groups. The config fields are floats: rates
// compare within 1e-8.
#include "sniper/optimizer.h"

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

OptimizerConfig Optimizer(double base_lr) {
  OptimizerConfig o;
  o.set_base_lr(base_lr);
  o.set_momentum(0.9);
  o.set_weight_decay(1e-4);
  return o;
}

ScheduleConfig Schedule(float epochs, int warmup, float warmup_start,
                        std::vector<float> decay_epochs, int max_steps = 0) {
  ScheduleConfig s;
  s.set_epochs(epochs);
  s.set_warmup_steps(warmup);
  s.set_warmup_start_lr(warmup_start);
  for (float e : decay_epochs) s.add_decay_epochs(e);
  s.set_decay_factor(0.1f);
  s.set_max_steps(max_steps);
  return s;
}

TEST(LrScheduleTest, WarmupThenEachDecayBoundary) {
  // 100 steps per epoch, 7 epochs, decays at 5.33 and 6.5 epochs.
  ASSERT_OK_AND_ASSIGN(
      LrSchedule s,
      LrSchedule::Build(Optimizer(0.02), Schedule(7, 50, 0.002f, {5.33f, 6.5f}),
                        100));
  EXPECT_EQ(s.total_steps(), 700);
  EXPECT_THAT(s.decay_steps(), ElementsAre(533, 650));
  EXPECT_NEAR(s.At(0), 0.002, 1e-8);   // warm-up starts at its rate
  EXPECT_NEAR(s.At(25), 0.011, 1e-8);  // halfway on the line
  EXPECT_NEAR(s.At(49), 0.002 + 0.018 * 49 / 50, 1e-8);
  EXPECT_NEAR(s.At(50), 0.02, 1e-8);    // warm-up done
  EXPECT_NEAR(s.At(532), 0.02, 1e-8);   // the step before the first decay
  EXPECT_NEAR(s.At(533), 0.002, 1e-8);  // first decay
  EXPECT_NEAR(s.At(649), 0.002, 1e-8);
  EXPECT_NEAR(s.At(650), 0.0002, 1e-8);  // second decay
  EXPECT_NEAR(s.At(699), 0.0002, 1e-8);
}

TEST(LrScheduleTest, DecayDuringWarmupWarmsUpToTheDecayedRate) {
  ASSERT_OK_AND_ASSIGN(
      LrSchedule s,
      LrSchedule::Build(Optimizer(0.1), Schedule(1, 20, 0.0f, {0.1f}), 100));
  EXPECT_THAT(s.decay_steps(), ElementsAre(10));
  EXPECT_NEAR(s.At(5), 0.1 * 5 / 20, 1e-8);
  EXPECT_NEAR(s.At(10), 0.01 * 10 / 20, 1e-8);
  EXPECT_NEAR(s.At(20), 0.01, 1e-8);
}

TEST(LrScheduleTest, StepCountRoundsUpAndMaxStepsCaps) {
  ASSERT_OK_AND_ASSIGN(
      LrSchedule a,
      LrSchedule::Build(Optimizer(0.1), Schedule(2.5f, 0, 0, {}), 33));
  EXPECT_EQ(a.total_steps(), 83);  // ceil(82.5)
  ASSERT_OK_AND_ASSIGN(
      LrSchedule b,
      LrSchedule::Build(Optimizer(0.1), Schedule(2.5f, 0, 0, {}, 40), 33));
  EXPECT_EQ(b.total_steps(), 40);
  EXPECT_NEAR(b.At(0), 0.1, 1e-8);  // no warm-up
  EXPECT_THAT(
      LrSchedule::Build(Optimizer(0.1), Schedule(1, 0, 0, {}), 0).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("at least one step per epoch")));
}

// conv (weight, bias) -> BN (weight, bias), and a frozen linear layer.
struct TinyNet : torch::nn::Module {
  TinyNet() {
    conv = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    frozen = register_module("frozen", torch::nn::Linear(4, 2));
    for (auto& p : frozen->parameters()) p.requires_grad_(false);
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear frozen{nullptr};
};

double WeightDecayOf(torch::optim::SGD& sgd, size_t group) {
  return static_cast<torch::optim::SGDOptions&>(
             sgd.param_groups()[group].options())
      .weight_decay();
}

TEST(MakeSgdTest, GroupsWithAndWithoutDecay) {
  TinyNet net;
  OptimizerConfig o = Optimizer(0.1);
  std::unique_ptr<torch::optim::SGD> all = MakeSgd(o, net);
  ASSERT_EQ(all->param_groups().size(), 1u);
  EXPECT_EQ(all->param_groups()[0].params().size(), 4u);  // frozen left out
  EXPECT_FLOAT_EQ(WeightDecayOf(*all, 0), 1e-4);

  o.set_no_decay_on_bn_and_bias(true);
  std::unique_ptr<torch::optim::SGD> split = MakeSgd(o, net);
  ASSERT_EQ(split->param_groups().size(), 2u);
  // Decayed: the conv weight only; not: conv bias, BN weight and bias.
  ASSERT_EQ(split->param_groups()[0].params().size(), 1u);
  EXPECT_TRUE(split->param_groups()[0].params()[0].is_same(net.conv->weight));
  EXPECT_EQ(split->param_groups()[1].params().size(), 3u);
  EXPECT_DOUBLE_EQ(WeightDecayOf(*split, 1), 0.0);

  SetLearningRate(*split, 0.05);
  for (auto& g : split->param_groups()) {
    EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(g.options()).lr(),
                     0.05);
  }
}

}  // namespace
}  // namespace sniper
