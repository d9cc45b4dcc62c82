#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autofocus/focus_labels.h"
#include "gtest/gtest.h"
#include "inference/detector.h"
#include "inference/testing/small_detector.h"

// AutoFocus inside MultiScaleDetector (inference/autofocus.cc): focus maps
// from the ground truth, FocusChips, and the two thresholds that give
// full inference and the coarsest scale alone.
namespace sniper::inference {
namespace {

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

// AutoFocus on an untrained focus branch (probabilities near 0.5): with
// threshold 0 every cell is a FocusPixel, the FocusChip is the whole image
// and the result is full inference's; with threshold 1 no cell is, and only
// the coarsest scale runs.
TEST(MultiScaleDetectorTest, AutoFocusBetweenFullInferenceAndCoarsestOnly) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);
  data::ChipSamplerConfig scales;
  // Listed fine first, as the configs do: AutoFocus orders by resolution.
  scales.add_scales()->mutable_size()->set_long_side(480);
  auto* coarse = scales.add_scales();
  coarse->mutable_size()->set_long_side(160);
  coarse->mutable_valid_range()->set_min(40);
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  models::FasterRcnnOptions mo = testing::SmallDetector();
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
    return std::make_unique<MultiScaleDetector>(
        testing::CpuDetector(model, testing::ValidOptions(c, scales)));
  };
  auto full = detector_with(false, 0);
  auto all = detector_with(true, 0);
  auto none = detector_with(true, 1);
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> pf =
        full->Prepare(ImageOf(ds, dir + "/images", i));
    absl::StatusOr<PreparedImage> pa =
        all->Prepare(ImageOf(ds, dir + "/images", i));
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
    absl::StatusOr<PreparedImage> pn =
        none->Prepare(ImageOf(ds, dir + "/images", i));
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
  const std::string dir = testing::SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);
  const data::ChipSamplerConfig scales = testing::LongSides({640, 160});
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  ic.set_batch_size(2);
  ic.mutable_autofocus()->set_enabled(true);
  ic.mutable_autofocus()->set_ground_truth_focus(true);
  AutoFocusConfig::Step* step = ic.mutable_autofocus()->add_steps();
  step->set_threshold(0.5);
  step->set_dilation(1);
  step->set_min_size(1);
  const InferenceOptions o = testing::ValidOptions(ic, scales);
  models::FasterRcnnOptions mo = testing::SmallDetector();
  mo.focus_labels.small_min = 2;  // no focus branch (mo.focus false)
  torch::manual_seed(4);
  MultiScaleDetector detector = testing::CpuDetector(models::FasterRcnn(mo), o);
  int small = 0;
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<PreparedImage> p =
        detector.Prepare(ImageOf(ds, dir + "/images", i));
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
}  // namespace sniper::inference
