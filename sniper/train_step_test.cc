// One training step's outcomes: applied (weights move, losses finite); a
// planted non-finite loss, diverged weights and an op refusing NaN input
// (ops::NonFiniteInputError, caught by type) all skipped without an update;
// a real error (a bug) returned as a Status naming the step. FP16 overflow
// needs a CUDA device.
#include "sniper/train_step.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/testing/tiny_models.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

struct Batch {
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
};

Batch TwoChips() {
  torch::manual_seed(3);
  Batch b;
  b.images = torch::randn({2, 3, 128, 128});
  for (int i = 0; i < 2; ++i) {
    models::ChipTargets t;
    t.boxes = torch::tensor(
                  {10.0f, 12.0f, 70.0f, 60.0f, 40.0f, 50.0f, 120.0f, 110.0f})
                  .view({2, 4});
    t.labels = torch::tensor({0, 2}, torch::kLong);
    t.ignore = torch::zeros({0, 4});
    t.height = t.width = 128;
    b.targets.push_back(t);
  }
  return b;
}

std::vector<torch::Tensor> Snapshot(models::FasterRcnn& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m->parameters()) out.push_back(p.detach().clone());
  return out;
}

bool Unchanged(models::FasterRcnn& m, const std::vector<torch::Tensor>& s) {
  const auto params = m->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    if (!torch::equal(params[i], s[i])) return false;
  }
  return true;
}

// A tiny model in training mode, plain SGD, one process, FP32.
class TrainStepTest : public ::testing::Test {
 protected:
  TrainStepTest()
      : model_(Seeded()),
        sgd_(model_->parameters(), torch::optim::SGDOptions(0.01)),
        step_(model_, sgd_, {}) {
    model_->train();
  }
  static models::FasterRcnn Seeded() {
    torch::manual_seed(1);
    return models::FasterRcnn(models::testing::TinyFasterRcnnOptions());
  }

  models::FasterRcnn model_;
  torch::optim::SGD sgd_;
  TrainStep step_;
};

TEST_F(TrainStepTest, AppliedStepMovesTheWeights) {
  models::FasterRcnn& model = model_;
  TrainStep& step = step_;
  const Batch b = TwoChips();
  const auto before = Snapshot(model);
  ASSERT_OK_AND_ASSIGN(StepOutcome out, step.Run(b.images, b.targets, 7, 0));
  EXPECT_EQ(out.result, StepResult::kApplied) << out.why;
  EXPECT_TRUE(out.why.empty());
  // One value per loss term the model names, summing to the total.
  ASSERT_EQ(out.terms.size(), model->options().LossNames().size());
  double sum = 0;
  for (double v : out.terms) {
    EXPECT_TRUE(std::isfinite(v));
    sum += v;
  }
  EXPECT_NEAR(out.loss, sum, 1e-5 * std::abs(out.loss));
  EXPECT_GT(out.loss, 0);
  EXPECT_FALSE(Unchanged(model, before));
}

TEST_F(TrainStepTest, PlantedNonFiniteLossIsSkippedWithoutAnUpdate) {
  models::FasterRcnn& model = model_;
  TrainStep& step = step_;
  Batch b = TwoChips();
  b.images[0][0][5][5] = std::numeric_limits<float>::infinity();
  const auto before = Snapshot(model);
  ASSERT_OK_AND_ASSIGN(StepOutcome out, step.Run(b.images, b.targets, 7, 0));
  EXPECT_EQ(out.result, StepResult::kNonFinite);
  EXPECT_FALSE(out.why.empty()) << "the planted inf went unnoticed";
  EXPECT_TRUE(Unchanged(model, before));
}

TEST_F(TrainStepTest, DivergedWeightsAreANonFiniteStepNotAnError) {
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) p.fill_(NAN);
  }
  TrainStep& step = step_;
  const Batch b = TwoChips();
  ASSERT_OK_AND_ASSIGN(StepOutcome out, step.Run(b.images, b.targets, 7, 0));
  EXPECT_EQ(out.result, StepResult::kNonFinite);
  EXPECT_THAT(out.why, HasSubstr("nan"));
}

TEST_F(TrainStepTest, AnOpRefusingNonFiniteInputIsASkippedStep) {
  models::FasterRcnn& model = model_;
  TrainStep& step = step_;
  Batch b = TwoChips();
  b.targets[1].boxes[0][2] = NAN;  // the IoU op refuses it, by type
  const auto before = Snapshot(model);
  ASSERT_OK_AND_ASSIGN(StepOutcome out, step.Run(b.images, b.targets, 7, 0));
  EXPECT_EQ(out.result, StepResult::kNonFinite);
  EXPECT_THAT(out.why, HasSubstr("non-finite coordinates"));
  EXPECT_TRUE(Unchanged(model, before));
}

TEST_F(TrainStepTest, ABugIsAnErrorNamingTheStep) {
  TrainStep& step = step_;
  Batch b = TwoChips();
  b.targets.pop_back();  // 2 images, 1 target list
  EXPECT_THAT(
      step.Run(b.images, b.targets, 7, 0, "[detector] step 3").status(),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("[detector] step 3: ")));
}

}  // namespace
}  // namespace sniper
