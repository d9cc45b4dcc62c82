#include "sniper/inference.h"

#include <cmath>
#include <cstdlib>

#include "data/synthetic.h"
#include "gtest/gtest.h"

namespace sniper {
namespace {

data::ImageAtScale At(int w, int h) {
  data::ImageAtScale at;
  at.scaled_width = w;
  at.scaled_height = h;
  return at;
}

TEST(ViewWindowsTest, WholeImageUnlessTooLarge) {
  auto w = ViewWindows(At(1000, 700), 0, 0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], (data::Chip{0, 0, 1000, 700}));
  EXPECT_EQ(ViewWindows(At(1000, 700), 1024, 128).size(), 1u);
}

TEST(ViewWindowsTest, TilesCoverWithOverlap) {
  const int W = 8000, H = 5000, tile = 2048, overlap = 256;
  const auto tiles = ViewWindows(At(W, H), tile, overlap);
  ASSERT_GT(tiles.size(), 1u);
  std::vector<uint8_t> covered(static_cast<size_t>(W / 8) * (H / 8), 0);
  for (const data::Chip& t : tiles) {
    EXPECT_GE(t.x1, 0);
    EXPECT_GE(t.y1, 0);
    EXPECT_LE(t.x2, W);
    EXPECT_LE(t.y2, H);
    EXPECT_LE(t.x2 - t.x1, tile);
    EXPECT_LE(t.y2 - t.y1, tile);
    for (int y = t.y1 / 8; y < t.y2 / 8; ++y) {
      for (int x = t.x1 / 8; x < t.x2 / 8; ++x) covered[y * (W / 8) + x] = 1;
    }
  }
  for (uint8_t c : covered) ASSERT_EQ(c, 1);
  // Neighbours overlap by at least `overlap` pixels.
  int max_gap_x = 0;
  for (const data::Chip& a : tiles) {
    for (const data::Chip& b : tiles) {
      if (a.y1 == b.y1 && b.x1 > a.x1 && b.x1 < a.x2) {
        EXPECT_GE(a.x2 - b.x1, overlap);
        max_gap_x = std::max(max_gap_x, a.x2 - b.x1);
      }
    }
  }
  EXPECT_GE(max_gap_x, overlap);
}

ImageDetections Dets(std::vector<std::array<float, 4>> boxes,
                     std::vector<float> scores, std::vector<int64_t> labels) {
  ImageDetections d;
  d.boxes = torch::empty({static_cast<int64_t>(boxes.size()), 4});
  for (size_t i = 0; i < boxes.size(); ++i) {
    for (int k = 0; k < 4; ++k) d.boxes[i][k] = boxes[i][k];
  }
  d.scores = torch::tensor(scores);
  d.labels = torch::tensor(labels, torch::kInt64);
  return d;
}

TEST(MergeDetectionsTest, NmsPerClass) {
  InferenceOptions o;
  o.nms_threshold = 0.5;
  // Boxes 0 and 1 overlap (IoU 0.81) in class 0; box 2 is the same as 0
  // but class 1; box 3 is below the score threshold.
  const ImageDetections d = MergeDetections(
      Dets({{0, 0, 100, 100}, {0, 0, 90, 90}, {0, 0, 100, 100}, {5, 5, 9, 9}},
           {0.9f, 0.8f, 0.7f, 0.0001f}, {0, 0, 1, 0}),
      o);
  ASSERT_EQ(d.scores.size(0), 2);
  EXPECT_FLOAT_EQ(d.scores[0].item<float>(), 0.9f);
  EXPECT_EQ(d.labels[1].item<int64_t>(), 1);
}

TEST(MergeDetectionsTest, GaussianSoftNmsDecaysInsteadOfRemoving) {
  InferenceOptions o;
  o.soft_nms = true;
  o.soft_nms_sigma = 0.55;
  const ImageDetections d = MergeDetections(
      Dets({{0, 0, 100, 100}, {0, 0, 90, 90}}, {0.9f, 0.8f}, {0, 0}), o);
  ASSERT_EQ(d.scores.size(0), 2);
  const double iou = 8100.0 / 10000.0;
  EXPECT_NEAR(d.scores[1].item<float>(), 0.8 * std::exp(-iou * iou / 0.55),
              1e-6);
}

TEST(MergeDetectionsTest, KeepsTheTopMaxDetections) {
  InferenceOptions o;
  o.max_detections = 3;
  std::vector<std::array<float, 4>> boxes;
  std::vector<float> scores;
  std::vector<int64_t> labels;
  for (int i = 0; i < 10; ++i) {
    boxes.push_back({i * 50.0f, 0, i * 50.0f + 40, 40});
    scores.push_back(0.1f * (i + 1) - 0.01f);
    labels.push_back(i % 3);
  }
  for (bool soft : {false, true}) {
    o.soft_nms = soft;
    const ImageDetections d = MergeDetections(Dets(boxes, scores, labels), o);
    ASSERT_EQ(d.scores.size(0), 3) << soft;
    EXPECT_NEAR(d.scores[0].item<float>(), 0.99f, 1e-6) << soft;
    EXPECT_GT(d.scores[1].item<float>(), d.scores[2].item<float>());
  }
}

}  // namespace
}  // namespace sniper

namespace sniper {
namespace {

// Batched views (padded to a common size) give the detections of one by
// one, up to floating-point rounding.
TEST(MultiScaleDetectorTest, BatchedEqualsOneByOne) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/inference_syn";
  data::SyntheticOptions so;
  so.train_images = 1;
  so.val_images = 3;
  so.min_side = 160;
  so.max_side = 320;
  data::SyntheticSplitStats a, b;
  ASSERT_TRUE(data::WriteSyntheticDataset(dir, so, &a, &b).ok());
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(dir + "/instances_val.json", {});
  ASSERT_TRUE(ds.ok()) << ds.status();

  data::ChipSamplerConfig scales;
  scales.add_scales()->mutable_size()->set_long_side(320);
  auto* fine = scales.add_scales();
  fine->mutable_size()->set_long_side(480);
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  ic.set_batch_size(3);
  absl::StatusOr<InferenceOptions> o =
      BuildInferenceOptions(ic, scales, "PipelineConfig.eval");
  ASSERT_TRUE(o.ok()) << o.status();
  models::FasterRcnnOptions mo;
  mo.backbone.depth = 18;
  mo.backbone.width_multiplier = 0.25;
  mo.num_classes = 5;
  mo.rpn_channels = 32;
  mo.rcnn_reduce_channels = 32;
  mo.rcnn_fc_channels = 64;
  torch::manual_seed(3);
  MultiScaleDetector detector(models::FasterRcnn(mo), *o,
                              data::ChipRenderOptions{},
                              torch::Device(torch::kCPU), std::nullopt);
  std::vector<PreparedImage> prepared;
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> p = detector.Prepare(*ds, dir + "/images", i);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_EQ(p->views.size(), 2u);
    prepared.push_back(*std::move(p));
  }
  const std::vector<ImageDetections> batched =
      detector.RunBatch({&prepared[0], &prepared[1], &prepared[2]});
  ASSERT_EQ(batched.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const ImageDetections single = detector.Run(prepared[i]);
    ASSERT_GT(single.scores.size(0), 0) << i;
    // Compare the 10 best: rounding may reorder near-ties further down.
    const int64_t k = std::min<int64_t>(10, single.scores.size(0));
    ASSERT_GE(batched[i].scores.size(0), k);
    EXPECT_TRUE(torch::allclose(single.scores.narrow(0, 0, k),
                                batched[i].scores.narrow(0, 0, k), 1e-4, 1e-5))
        << i;
    EXPECT_TRUE(torch::allclose(single.boxes.narrow(0, 0, k),
                                batched[i].boxes.narrow(0, 0, k), 1e-3, 1e-2))
        << i;
    // Inside the image.
    EXPECT_GE(single.boxes.min().item<float>(), 0);
  }
  EXPECT_EQ(detector.views_run(), 12);  // 6 batched + 6 one by one
}

}  // namespace
}  // namespace sniper
