#include "sniper/inference.h"

#include <cmath>
#include <cstdlib>
#include <memory>

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

TEST(MergeDetectionsTest, MasksFollowTheirBoxes) {
  // Each detection's mask is filled with its own index: after the
  // threshold, NMS or soft-NMS and reordering, mask k must still be the one
  // of the box at k.
  std::vector<std::array<float, 4>> boxes = {
      {0, 0, 100, 100}, {0, 0, 90, 90}, {200, 0, 260, 60}, {5, 5, 9, 9}};
  ImageDetections in = Dets(boxes, {0.5f, 0.8f, 0.9f, 0.0001f}, {0, 0, 1, 0});
  in.masks = torch::arange(4, torch::kFloat)
                 .view({4, 1, 1})
                 .expand({4, 3, 3})
                 .contiguous();
  for (bool soft : {false, true}) {
    InferenceOptions o;
    o.soft_nms = soft;
    const ImageDetections d = MergeDetections(in, o);
    ASSERT_TRUE(d.masks.defined());
    ASSERT_EQ(d.masks.size(0), d.boxes.size(0)) << soft;
    for (int64_t k = 0; k < d.boxes.size(0); ++k) {
      const int64_t source = d.masks[k][0][0].item<int64_t>();
      EXPECT_TRUE(torch::equal(d.boxes[k], in.boxes[source])) << soft << k;
    }
    // The best-scoring box (index 2) comes first with its mask.
    EXPECT_EQ(d.masks[0][1][1].item<float>(), 2.0f) << soft;
  }
  // Without masks, none come out.
  EXPECT_FALSE(
      MergeDetections(Dets(boxes, {0.5f, 0.8f, 0.9f, 0.1f}, {0, 0, 1, 0}),
                      InferenceOptions())
          .masks.defined());
}

}  // namespace
}  // namespace sniper

namespace sniper {
namespace {

// A narrow ResNet-18 detector for the 5 synthetic classes.
models::FasterRcnnOptions SmallDetector() {
  models::FasterRcnnOptions mo;
  mo.backbone.depth = 18;
  mo.backbone.width_multiplier = 0.25;
  mo.num_classes = 5;
  mo.rpn_channels = 32;
  mo.rcnn_reduce_channels = 32;
  mo.rcnn_fc_channels = 64;
  return mo;
}

// Three small synthetic validation images.
std::string SmallDataset(data::CocoDataset* ds) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/inference_syn";
  data::SyntheticOptions so;
  so.train_images = 1;
  so.val_images = 3;
  so.min_side = 160;
  so.max_side = 320;
  data::SyntheticSplitStats a, b;
  EXPECT_TRUE(data::WriteSyntheticDataset(dir, so, &a, &b).ok());
  absl::StatusOr<data::CocoDataset> read =
      data::ReadCocoInstances(dir + "/instances_val.json", {});
  EXPECT_TRUE(read.ok()) << read.status();
  if (read.ok()) *ds = *std::move(read);
  return dir;
}

// Batched views (padded to a common size) give the detections of one by
// one, up to floating-point rounding.
TEST(MultiScaleDetectorTest, BatchedEqualsOneByOne) {
  data::CocoDataset ds;
  const std::string dir = SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);

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
  models::FasterRcnnOptions mo = SmallDetector();
  torch::manual_seed(3);
  MultiScaleDetector detector(models::FasterRcnn(mo), *o,
                              data::ChipRenderOptions{},
                              torch::Device(torch::kCPU), std::nullopt);
  std::vector<PreparedImage> prepared;
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> p = detector.Prepare(ds, dir + "/images", i);
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

TEST(GroundTruthFocusMapTest, PositiveWhereABoxIsSmallAtThatScale) {
  data::ImageAtScale at;
  at.scale = 0.5;
  at.scaled_width = 200;  // 13 x 7 cells
  at.scaled_height = 100;
  autofocus::FocusLabelOptions o;  // 5 < s < 64 positive, < 90 don't care
  // At scale 0.5: a 40 px box is 20 px (positive), a 160 px one 80 px
  // (don't care: 0 in the map), a crowd region nothing.
  const std::vector<autofocus::LabelBox> boxes = {{0, 0, 40, 40, false},
                                                  {200, 0, 360, 160, false},
                                                  {0, 120, 40, 160, true}};
  const autofocus::FocusMap m = GroundTruthFocusMap(boxes, at, o);
  ASSERT_EQ(m.width, 13);
  ASSERT_EQ(m.height, 7);
  EXPECT_EQ(m.at(0, 0), 1.0f);
  EXPECT_EQ(m.at(1, 1), 1.0f);  // [0, 20) px covers cells 0 and 1
  EXPECT_EQ(m.at(2, 0), 0.0f);
  EXPECT_EQ(m.at(8, 1), 0.0f);  // don't care
  EXPECT_EQ(m.at(0, 4), 0.0f);  // crowd
}

TEST(ChipProposalsTest, AChipGetsItsAreasShareAtLeastTheMinimum) {
  ops::ProposalOptions image;
  image.pre_nms_top_n = 3000;
  image.post_nms_top_n = 300;
  // A tenth of the image: 30 after NMS would be under the minimum of 50;
  // before NMS, a tenth of 3000.
  ops::ProposalOptions tenth = ChipProposals(image, 0.1, 50);
  EXPECT_EQ(tenth.post_nms_top_n, 50);
  EXPECT_EQ(tenth.pre_nms_top_n, 300);
  ops::ProposalOptions half = ChipProposals(image, 0.5, 50);
  EXPECT_EQ(half.post_nms_top_n, 150);
  EXPECT_EQ(half.pre_nms_top_n, 1500);
  // Never more than the whole image's; minimum 0 or the whole image: as is.
  EXPECT_EQ(ChipProposals(image, 0.001, 500).post_nms_top_n, 300);
  EXPECT_EQ(ChipProposals(image, 0.1, 0).post_nms_top_n, 300);
  EXPECT_EQ(ChipProposals(image, 1.0, 50).pre_nms_top_n, 3000);
  EXPECT_DOUBLE_EQ(ChipProposals(image, 0.1, 50).nms_threshold,
                   image.nms_threshold);
}

// AutoFocus on an untrained focus branch (probabilities near 0.5): with
// threshold 0 every cell is a FocusPixel, the FocusChip is the whole image
// and the result is full inference's; with threshold 1 no cell is, and only
// the coarsest scale runs.
TEST(MultiScaleDetectorTest, AutoFocusBetweenFullInferenceAndCoarsestOnly) {
  data::CocoDataset ds;
  const std::string dir = SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);
  data::ChipSamplerConfig scales;
  // Listed fine first, as the configs do: AutoFocus orders by resolution.
  scales.add_scales()->mutable_size()->set_long_side(480);
  auto* coarse = scales.add_scales();
  coarse->mutable_size()->set_long_side(160);
  coarse->mutable_valid_range()->set_min(40);
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  models::FasterRcnnOptions mo = SmallDetector();
  mo.focus = true;
  mo.focus_channels = 16;
  torch::manual_seed(4);
  models::FasterRcnn model(mo);
  auto detector_with = [&](bool autofocus, double threshold) {
    InferenceConfig c = ic;
    c.mutable_autofocus()->set_enabled(autofocus);
    AutoFocusConfig::Step* step = c.mutable_autofocus()->add_steps();
    step->set_threshold(threshold);
    step->set_min_size(2);
    absl::StatusOr<InferenceOptions> o =
        BuildInferenceOptions(c, scales, "PipelineConfig.eval");
    EXPECT_TRUE(o.ok()) << o.status();
    return std::make_unique<MultiScaleDetector>(
        model, *o, data::ChipRenderOptions{}, torch::Device(torch::kCPU),
        std::nullopt);
  };
  auto full = detector_with(false, 0);
  auto all = detector_with(true, 0);
  auto none = detector_with(true, 1);
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> pf = full->Prepare(ds, dir + "/images", i);
    absl::StatusOr<PreparedImage> pa = all->Prepare(ds, dir + "/images", i);
    ASSERT_TRUE(pf.ok() && pa.ok());
    EXPECT_EQ(pf->views.size(), 2u);
    ASSERT_EQ(pa->views.size(), 1u);  // the coarsest scale only
    EXPECT_EQ(pa->views[0].scale_index, 1);
    EXPECT_EQ(pa->scale_order, (std::vector<int>{1, 0}));
    const ImageDetections f = full->Run(*pf);
    std::vector<std::vector<FocusStep>> trace;
    const ImageDetections a = all->RunBatch({&*pa}, &trace)[0];
    ASSERT_GT(f.scores.size(0), 0);
    const int64_t k = std::min<int64_t>(10, f.scores.size(0));
    ASSERT_GE(a.scores.size(0), k);
    EXPECT_TRUE(torch::allclose(f.scores.narrow(0, 0, k),
                                a.scores.narrow(0, 0, k), 1e-4, 1e-5))
        << i;
    // The trace: the coarse map over the whole scaled image, one FocusChip
    // (the whole fine-scale image), and the fine scale's own step.
    ASSERT_EQ(trace.size(), 1u);
    ASSERT_EQ(trace[0].size(), 2u);
    const FocusStep& s0 = trace[0][0];
    EXPECT_EQ(s0.scale_index, 1);
    EXPECT_EQ(s0.next_scale_index, 0);
    EXPECT_EQ(s0.map.width, (s0.at.scaled_width + 15) / 16);
    ASSERT_EQ(s0.next_chips.size(), 1u);
    EXPECT_EQ(s0.next_chips[0], (data::Chip{0, 0, trace[0][1].at.scaled_width,
                                            trace[0][1].at.scaled_height}));
    EXPECT_EQ(trace[0][1].windows, s0.next_chips);
    EXPECT_EQ(trace[0][1].next_scale_index, -1);
    // Threshold 1: no FocusChip; the detections are the coarse scale's.
    absl::StatusOr<PreparedImage> pn = none->Prepare(ds, dir + "/images", i);
    ASSERT_TRUE(pn.ok());
    const ImageDetections n = none->RunBatch({&*pn}, &trace)[0];
    EXPECT_TRUE(trace[0][0].next_chips.empty());
    EXPECT_TRUE(trace[0][1].windows.empty());
    if (n.boxes.size(0) > 0) {
      const torch::Tensor side =
          ((n.boxes.select(1, 2) - n.boxes.select(1, 0)) *
           (n.boxes.select(1, 3) - n.boxes.select(1, 1)))
              .sqrt();
      EXPECT_GE(side.min().item<float>(), 40 - 1e-3);  // the coarse range
    }
  }
  // Pixels per scale: full and threshold-0 AutoFocus ran the same views.
  EXPECT_EQ(all->pixels_per_scale(), full->pixels_per_scale());
  EXPECT_EQ(all->views_per_scale(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(none->views_per_scale(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(none->pixels_per_scale()[1], full->pixels_per_scale()[1]);
}

// Ground-truth focus maps need no focus branch; every ground-truth box that
// is small (positive) at the coarse scale lies inside a FocusChip of the
// fine one.
TEST(MultiScaleDetectorTest, GroundTruthFocusChipsCoverTheSmallBoxes) {
  data::CocoDataset ds;
  const std::string dir = SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);
  data::ChipSamplerConfig scales;
  scales.add_scales()->mutable_size()->set_long_side(640);
  scales.add_scales()->mutable_size()->set_long_side(160);
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  ic.set_batch_size(2);
  ic.mutable_autofocus()->set_enabled(true);
  ic.mutable_autofocus()->set_ground_truth_focus(true);
  AutoFocusConfig::Step* step = ic.mutable_autofocus()->add_steps();
  step->set_threshold(0.5);
  step->set_dilation(1);
  step->set_min_size(1);
  absl::StatusOr<InferenceOptions> o =
      BuildInferenceOptions(ic, scales, "PipelineConfig.eval");
  ASSERT_TRUE(o.ok()) << o.status();
  models::FasterRcnnOptions mo = SmallDetector();
  mo.focus_labels.small_min = 2;  // no focus branch (mo.focus false)
  torch::manual_seed(4);
  MultiScaleDetector detector(models::FasterRcnn(mo), *o,
                              data::ChipRenderOptions{},
                              torch::Device(torch::kCPU), std::nullopt);
  int small = 0;
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> p = detector.Prepare(ds, dir + "/images", i);
    ASSERT_TRUE(p.ok()) << p.status();
    std::vector<std::vector<FocusStep>> trace;
    detector.RunBatch({&*p}, &trace);
    const FocusStep& coarse = trace[0][0];
    const double fine = coarse.next_scale;
    for (const data::BoxXYWH& b : ds.boxes_of(i)) {
      const double side = std::sqrt(double{b.w} * b.h) * coarse.at.scale;
      if (!(side > 2 && side < 64)) continue;
      ++small;
      bool inside = false;
      for (const data::Chip& c : coarse.next_chips) {
        inside =
            inside || (c.x1 <= b.x * fine + 1e-3 && c.y1 <= b.y * fine + 1e-3 &&
                       (b.x + b.w) * fine <= c.x2 + 1e-3 &&
                       (b.y + b.h) * fine <= c.y2 + 1e-3);
      }
      EXPECT_TRUE(inside) << "image " << i << " box " << b.x << "," << b.y
                          << " " << b.w << "x" << b.h;
    }
    EXPECT_EQ(trace[0][1].windows.size(), coarse.next_chips.size());
  }
  EXPECT_GT(small, 0);
}

}  // namespace
}  // namespace sniper
