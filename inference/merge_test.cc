#include "inference/merge.h"

#include <array>
#include <vector>

#include "gtest/gtest.h"

namespace sniper::inference {
namespace {

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

}  // namespace
}  // namespace sniper::inference
