// The checkpoint format on its own: a round trip restores weights, momentum,
// position, counters, history, RNG and the info; rotation keeps the newest
// N; a corrupt file is refused naming it.
#include "sniper/checkpoint.h"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/testing/tiny_models.h"
#include "port/status_matchers.h"
#include "sniper/metrics.h"
#include "sniper/run_log.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestDir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(t != nullptr ? t : "/tmp") + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

models::FasterRcnnOptions Tiny() {
  return models::testing::TinyFasterRcnnOptions();
}

// The saved config of a run with the tiny model: what the loader compares
// the model it loads into with.
std::string TinyConfigText(int fc_channels = 32, int num_classes = 3) {
  return absl::StrCat(
      "name: \"tiny\"\nmodel { backbone { depth: 18 width_multiplier: 0.125 } "
      "num_classes: ",
      num_classes,
      " rpn_channels: 16 rcnn_reduce_channels: 16 rcnn_fc_channels: ",
      fc_channels, " }\n");
}

CheckpointState SomeState() {
  CheckpointState s;
  s.position = {1234, 5, 67};
  s.counters.chips = 9876;
  s.counters.nonfinite = 3;
  s.counters.skipped_chips = 2;
  s.counters.seconds = 12.5;
  s.counters.loss_scale = 1024;
  s.counters.scaler_clean_steps = 17;
  s.counters.fp16_overflows = 4;
  s.history = {
      {"rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box"},
      {{10, 2.5, {0.7, 0.1, 1.5, 0.2}}, {20, 1.25, {0.5, 0.05, 0.6, 0.1}}}};
  s.finished = true;
  return s;
}

CheckpointInfo SomeInfo() {
  CheckpointInfo info;
  info.config_text = TinyConfigText();
  info.category_names = {"disc", "a \"quoted\" name", "ring"};
  info.category_ids = {1, 7, 42};
  return info;
}

bool SameWeights(models::FasterRcnn& a, models::FasterRcnn& b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  const auto ba = a->named_buffers(), bb = b->named_buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size()) return false;
  for (const auto& p : pa) {
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  }
  for (const auto& p : ba) {
    if (!torch::equal(p.value(), bb[p.key()])) return false;
  }
  return true;
}

TEST(CheckpointTest, RoundTripRestoresEverything) {
  const std::string dir = TestDir("round_trip");
  torch::manual_seed(1);
  models::FasterRcnn model(Tiny());
  torch::optim::SGD sgd(model->parameters(),
                        torch::optim::SGDOptions(0.1).momentum(0.9));
  // One step, so that the momentum buffers exist and are not zero.
  torch::Tensor loss;
  for (const auto& p : model->parameters()) {
    loss = loss.defined() ? loss + p.square().sum() : p.square().sum();
  }
  loss.backward();
  sgd.step();
  const torch::Tensor rng_before = torch::rand({4});  // advances the RNG
  const std::string path = dir + "/final.pt";
  ASSERT_OK(SaveCheckpoint(path, model, &sgd, SomeState(), SomeInfo()));
  const torch::Tensor expected_next = torch::rand({4});

  torch::manual_seed(99);
  models::FasterRcnn other(Tiny());
  torch::optim::SGD other_sgd(other->parameters(),
                              torch::optim::SGDOptions(0.1).momentum(0.9));
  EXPECT_FALSE(SameWeights(model, other));
  ASSERT_OK_AND_ASSIGN(
      CheckpointState s,
      LoadCheckpoint(path, other, &other_sgd, torch::Device(torch::kCPU)));
  EXPECT_TRUE(SameWeights(model, other));
  // The RNG continues where it was when the checkpoint was written.
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_next));
  (void)rng_before;
  const CheckpointState want = SomeState();
  EXPECT_EQ(s.position.step, want.position.step);
  EXPECT_EQ(s.position.epoch, want.position.epoch);
  EXPECT_EQ(s.position.batch, want.position.batch);
  EXPECT_EQ(s.counters.chips, want.counters.chips);
  EXPECT_EQ(s.counters.nonfinite, want.counters.nonfinite);
  EXPECT_EQ(s.counters.skipped_chips, want.counters.skipped_chips);
  EXPECT_EQ(s.counters.seconds, want.counters.seconds);
  EXPECT_EQ(s.counters.loss_scale, want.counters.loss_scale);
  EXPECT_EQ(s.counters.scaler_clean_steps, want.counters.scaler_clean_steps);
  EXPECT_EQ(s.counters.fp16_overflows, want.counters.fp16_overflows);
  EXPECT_EQ(s.history, want.history);
  EXPECT_TRUE(s.finished);
  ASSERT_OK_AND_ASSIGN(auto weights, ReadCheckpointWeights(path));
  EXPECT_EQ(weights.size(),
            model->named_parameters().size() + model->named_buffers().size());
  const auto params = model->named_parameters();
  for (const auto& p : params) {
    ASSERT_EQ(weights.count(p.key()), 1u) << p.key();
    EXPECT_TRUE(torch::equal(weights[p.key()], p.value())) << p.key();
  }

  // Momentum: one more step of each optimizer from the same weights and
  // gradients lands on the same weights only if the buffers match.
  sgd.zero_grad();
  for (auto* m : {&model, &other}) {
    torch::Tensor l;
    for (const auto& p : (*m)->parameters()) {
      l = l.defined() ? l + p.square().sum() : p.square().sum();
    }
    l.backward();
  }
  sgd.step();
  other_sgd.step();
  EXPECT_TRUE(SameWeights(model, other));

  ASSERT_OK_AND_ASSIGN(CheckpointInfo info, ReadCheckpointInfo(path));
  EXPECT_EQ(info.config_text, SomeInfo().config_text);
  EXPECT_EQ(info.step, 1234);
  EXPECT_EQ(info.category_names, SomeInfo().category_names);
  EXPECT_EQ(info.category_ids, SomeInfo().category_ids);
}

TEST(CheckpointTest, RotationKeepsTheNewest) {
  const std::string dir = TestDir("rotation");
  models::FasterRcnn model(Tiny());
  CheckpointState s;
  for (int64_t step : {5, 10, 15, 20}) {
    s.position.step = step;
    ASSERT_OK(SaveRotatingCheckpoint(dir, 2, model, nullptr, s, SomeInfo()));
  }
  std::ofstream(dir + "/ckpt-notanumber.pt") << "x";
  std::ofstream(dir + "/notes.txt") << "x";
  const auto listed = ListCheckpoints(dir);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].first, 15);
  EXPECT_EQ(listed[1].first, 20);
  EXPECT_EQ(listed[1].second, dir + "/" + CheckpointName(20));
  EXPECT_EQ(CheckpointName(20), "ckpt-00000020.pt");
  EXPECT_TRUE(ListCheckpoints(dir + "/missing").empty());
  // Weights only (no optimizer): still loadable.
  models::FasterRcnn other(Tiny());
  ASSERT_OK(LoadCheckpointWeights(listed[1].second, other,
                                  torch::Device(torch::kCPU)));
  EXPECT_TRUE(SameWeights(model, other));
}

TEST(CheckpointTest, CorruptOrForeignFilesAreRefusedNamingThePath) {
  const std::string dir = TestDir("bad");
  models::FasterRcnn model(Tiny());
  const std::string garbage = dir + "/garbage.pt";
  std::ofstream(garbage) << "not a checkpoint";
  EXPECT_THAT(LoadCheckpointWeights(garbage, model, torch::Device(torch::kCPU)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(garbage)));
  EXPECT_THAT(ReadCheckpointInfo(garbage).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(garbage)));
  EXPECT_THAT(ReadCheckpointInfo(dir + "/missing.pt").status().message(),
              HasSubstr("missing.pt"));
}

TEST(CheckpointTest, AnotherArchitectureIsRefusedNamingFieldAndBothValues) {
  const std::string dir = TestDir("arch");
  models::FasterRcnn model(Tiny());
  const std::string path = dir + "/final.pt";
  ASSERT_OK(SaveCheckpoint(path, model, nullptr, SomeState(), SomeInfo()));
  models::FasterRcnnOptions wider = Tiny();
  wider.rcnn_fc_channels = 64;
  wider.num_classes = 5;
  models::FasterRcnn other(wider);
  const torch::Tensor before =
      other->named_parameters().begin()->value().clone();
  const absl::Status s =
      LoadCheckpointWeights(path, other, torch::Device(torch::kCPU));
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
  EXPECT_THAT(s.message(), HasSubstr("model.num_classes is 3 there but 5"));
  EXPECT_THAT(s.message(),
              HasSubstr("model.rcnn_fc_channels is 32 there but 64"));
  // Nothing was loaded.
  EXPECT_TRUE(torch::equal(other->named_parameters().begin()->value(), before));
  // The RPN-only copy of the same model (the RPN stage's) is the same
  // architecture; its tensors are a subset, so it loads.
  models::FasterRcnnOptions rpn = Tiny();
  rpn.rpn_only = true;
  models::FasterRcnn rpn_model(rpn);
  EXPECT_OK(LoadCheckpointWeights(path, rpn_model, torch::Device(torch::kCPU)));
  // The full model from an RPN-only file: a missing tensor, named.
  const std::string rpn_path = dir + "/rpn.pt";
  ASSERT_OK(
      SaveCheckpoint(rpn_path, rpn_model, nullptr, SomeState(), SomeInfo()));
  EXPECT_THAT(
      LoadCheckpointWeights(rpn_path, model, torch::Device(torch::kCPU)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("has no tensor rcnn")));
}

TEST(CheckpointTest, WeightsThatDoNotFitTheirConfigAreRefusedByShape) {
  // A file whose config claims 64-wide fc layers over 32-wide weights (a
  // hand-edited or foreign file): the config check passes, the shapes do not.
  const std::string dir = TestDir("shape");
  models::FasterRcnn model(Tiny());
  CheckpointInfo info = SomeInfo();
  info.config_text = TinyConfigText(/*fc_channels=*/64);
  const std::string path = dir + "/final.pt";
  ASSERT_OK(SaveCheckpoint(path, model, nullptr, SomeState(), info));
  models::FasterRcnnOptions wider = Tiny();
  wider.rcnn_fc_channels = 64;
  models::FasterRcnn other(wider);
  const absl::Status s =
      LoadCheckpointWeights(path, other, torch::Device(torch::kCPU));
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
  EXPECT_THAT(s.message(), HasSubstr("there but ["));
  EXPECT_THAT(s.message(), HasSubstr("64"));
}

TEST(LossHistoryTest, FilesWithoutNamesReadTheirColumnsAsTheOldOrder) {
  // Written before the history named its columns: 6, 7 or 8 columns.
  const torch::Tensor eight =
      torch::tensor({10.0, 2.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, torch::kFloat64)
          .view({1, 8});
  ASSERT_OK_AND_ASSIGN(LossHistory h, LossHistoryFromTensor(eight, nullptr));
  EXPECT_THAT(h.names, ElementsAre("rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box",
                                   "focus", "mask"));
  ASSERT_EQ(h.rows.size(), 1u);
  EXPECT_EQ(h.rows[0],
            (LossHistory::Row{10, 2.0, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}}));
  ASSERT_OK_AND_ASSIGN(h, LossHistoryFromTensor(eight.slice(1, 0, 6), nullptr));
  EXPECT_THAT(h.names,
              ElementsAre("rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box"));
  ASSERT_OK_AND_ASSIGN(h, LossHistoryFromTensor(eight.slice(1, 0, 7), nullptr));
  EXPECT_EQ(h.names.back(), "focus");
  ASSERT_OK_AND_ASSIGN(h, LossHistoryFromTensor(torch::zeros({0, 8}), nullptr));
  EXPECT_TRUE(h.empty());
  EXPECT_THAT(LossHistoryFromTensor(eight.slice(1, 0, 5), nullptr).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("[1, 5]")));
  // With names, the columns must match them.
  const std::vector<std::string> two = {"a", "b"};
  EXPECT_THAT(LossHistoryFromTensor(eight, &two).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("expected [n, 4] for 2 named loss terms")));
}

// A loss term the code has never heard of (as a new model branch would
// add to its LossNames()) reaches the progress line, metrics.csv and the
// checkpoint's history with no edit anywhere: everything iterates names.
TEST(LossHistoryTest, ANewLossTermFlowsToProgressLineCsvAndCheckpoint) {
  const std::string dir = TestDir("new_loss_term");
  models::FasterRcnnOptions options = Tiny();
  std::vector<std::string> names = options.LossNames();
  names.push_back("rcnn_iou");
  MetricsFanout sinks;
  {
    RunLog log(dir + "/train.log", /*progress=*/false, /*echo=*/false);
    sinks.Add(std::make_unique<ProgressLineSink>(log));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(dir + "/metrics.csv", names));
    sinks.Add(std::move(csv));
    LossHistorySink history;
    sinks.AddUnowned(&history);
    for (int step : {10, 20}) {
      Metrics m;
      m.Set(kEpoch, 0)
          .SetLosses(1.5, names, {0.25, 0.5, 0.125, 0.0625, 0.3 * step})
          .Set(kLearningRate, 0.01);
      ASSERT_OK(sinks.Log("detector", step, m));
    }
    // Saved and loaded with the weights.
    models::FasterRcnn model(options);
    CheckpointState state;
    state.history = history.history("detector");
    ASSERT_OK(
        SaveCheckpoint(dir + "/final.pt", model, nullptr, state, SomeInfo()));
  }
  models::FasterRcnn other(options);
  ASSERT_OK_AND_ASSIGN(CheckpointState loaded,
                       LoadCheckpoint(dir + "/final.pt", other, nullptr,
                                      torch::Device(torch::kCPU)));
  EXPECT_EQ(loaded.history.names, names);
  ASSERT_EQ(loaded.history.rows.size(), 2u);
  EXPECT_EQ(loaded.history.rows[1].terms.back(), 0.3 * 20);
  std::ifstream csv(dir + "/metrics.csv"), log(dir + "/train.log");
  const std::string csv_text((std::istreambuf_iterator<char>(csv)),
                             std::istreambuf_iterator<char>());
  const std::string log_text((std::istreambuf_iterator<char>(log)),
                             std::istreambuf_iterator<char>());
  EXPECT_THAT(csv_text, HasSubstr("rcnn_box,rcnn_iou,chips_per_s"));
  EXPECT_THAT(csv_text, HasSubstr("detector,20,0,0.01,1.5,0.25,0.5,0.125,"
                                  "0.0625,6,"));
  EXPECT_THAT(log_text, HasSubstr("rcnn_box 0.0625  rcnn_iou 6.0000"));
}

}  // namespace
}  // namespace sniper
