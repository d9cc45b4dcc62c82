// SNIP (whole images at every scale, configs/synthetic_snip.pbtxt) ignores
// the boxes out of a scale's valid range exactly as SNIPER's chips do: on a
// hand-made image with one box per range, each scale's whole-image sample
// keeps the in-range boxes as ground truth and the others as ignore regions,
// the same split every chip of the default makes for the boxes it holds
// (identical labels where a chip is the whole image), and the RPN and RCNN
// targets built from it neither train on nor against the ignored boxes.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "configs/default_synthetic_embedded.h"
#include "data/chip_loader.h"
#include "data/chip_sampler.h"
#include "data/image_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/anchors.h"
#include "ops/box_iou.h"
#include "ops/target_assignment.h"
#include "port/status_matchers.h"
#include "sniper/batch.h"
#include "sniper/config.h"

namespace sniper {
namespace {

// One box per valid range of the default's scales (long sides 1536, 768,
// 256; ranges [0, 40), [32, 96), [80, inf) of sqrt(area) in image pixels)
// and one in two of them, on a 480x320 image.
constexpr int kWidth = 480, kHeight = 320;
const data::BoxXYWH kSmall = {40, 40, 20, 20};      // 20: fine only
const data::BoxXYWH kBoth = {100, 200, 35, 35};     // 35: fine and middle
const data::BoxXYWH kMedium = {200, 100, 60, 60};   // 60: middle only
const data::BoxXYWH kLarge = {300, 150, 150, 120};  // 134: coarse only
const std::vector<data::BoxXYWH> kBoxes = {kSmall, kBoth, kMedium, kLarge};
// Which of kBoxes are valid at scales 0, 1, 2.
const std::vector<std::vector<int>> kValidAt = {{0, 1}, {1, 2}, {3}};

absl::StatusOr<Pipeline> Build(const std::string& file) {
  absl::StatusOr<PipelineConfig> merged = LayerConfigs(
      embedded::kDefaultSynthetic, "default", file,
      {"loader.flip=false", "loader.threads=1", "sampler.shuffle=false"});
  if (!merged.ok()) return merged.status();
  return BuildPipeline(*merged);
}

struct HandMade {
  std::string dir;
  data::CocoDataset dataset;
};

HandMade MakeImage() {
  HandMade h;
  h.dir = ::testing::TempDir() + "/whole_image_targets";
  std::filesystem::create_directories(h.dir);
  data::RgbImage im;
  im.width = kWidth;
  im.height = kHeight;
  im.pixels.assign(static_cast<size_t>(kWidth) * kHeight * 3, 128);
  EXPECT_OK(data::WritePngFile(h.dir + "/hand.png", im));
  data::CocoDatasetBuilder b("hand-made");
  data::CocoImage info;
  info.id = 1;
  info.width = kWidth;
  info.height = kHeight;
  info.file_name = "hand.png";
  b.AddImage(info);
  for (size_t k = 0; k < kBoxes.size(); ++k) {
    b.AddAnnotation({kBoxes[k], static_cast<int32_t>(k), false,
                     static_cast<int64_t>(k + 1)});
  }
  absl::StatusOr<data::CocoDataset> ds = std::move(b).Build();
  EXPECT_OK(ds.status());
  h.dataset = *std::move(ds);
  return h;
}

// kBoxes[k] in the pixels of a window at (x0, y0) of the image at `scale`.
data::Box InWindow(int k, double scale, double x0, double y0) {
  const data::BoxXYWH& b = kBoxes[k];
  return {static_cast<float>(b.x * scale - x0),
          static_cast<float>(b.y * scale - y0),
          static_cast<float>((b.x + b.w) * scale - x0),
          static_cast<float>((b.y + b.h) * scale - y0)};
}

// Index into kBoxes of the box `b` (window pixels) is, or -1.
int WhichBox(const data::Box& b, double scale, double x0, double y0) {
  for (int k = 0; k < static_cast<int>(kBoxes.size()); ++k) {
    const data::Box e = InWindow(k, scale, x0, y0);
    if (std::fabs(e.x1 - b.x1) < 0.01 && std::fabs(e.y1 - b.y1) < 0.01 &&
        std::fabs(e.x2 - b.x2) < 0.01 && std::fabs(e.y2 - b.y2) < 0.01) {
      return k;
    }
  }
  return -1;
}

bool SameBox(const data::Box& a, const data::Box& b) {
  return a.x1 == b.x1 && a.y1 == b.y1 && a.x2 == b.x2 && a.y2 == b.y2;
}

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int> Others(const std::vector<int>& valid) {
  std::vector<int> out;
  for (int k = 0; k < static_cast<int>(kBoxes.size()); ++k) {
    if (std::find(valid.begin(), valid.end(), k) == valid.end()) {
      out.push_back(k);
    }
  }
  return out;
}

// Which boxes a chip's labels keep as ground truth and as ignore regions.
struct Split {
  std::vector<int> valid, ignored;
};

Split SplitOf(const data::ChipLabels& l, double scale, const data::Chip& c) {
  Split s;
  for (const data::Box& b : l.boxes) {
    s.valid.push_back(WhichBox(b, scale, c.x1, c.y1));
  }
  for (const data::Box& b : l.ignore) {
    s.ignored.push_back(WhichBox(b, scale, c.x1, c.y1));
  }
  s.valid = Sorted(s.valid);
  s.ignored = Sorted(s.ignored);
  return s;
}

TEST(WholeImageTargetsTest, OutOfRangeBoxesAreIgnoredAsInChips) {
  const HandMade h = MakeImage();
  ASSERT_OK_AND_ASSIGN(Pipeline snip, Build("configs/synthetic_snip.pbtxt"));
  ASSERT_OK_AND_ASSIGN(Pipeline chips, Build(""));
  ASSERT_EQ(snip.sampler.mode, data::ChipMode::kWholeImage);
  ASSERT_EQ(chips.sampler.mode, data::ChipMode::kChips);

  // SNIP, through the real loader: one sample per scale, the whole image.
  const data::ChipSampler snip_sampler(snip.sampler);
  data::ChipLoaderOptions lo = snip.loader;
  lo.batch_size = 1;
  lo.group_by_shape = false;
  data::ChipLoader loader(h.dataset, h.dir, snip_sampler, nullptr, lo);
  std::map<int, Split> snip_split;
  std::map<int, data::ChipLabels> snip_labels;
  std::map<int, std::pair<torch::Tensor, models::ChipTargets>> snip_tensors;
  ASSERT_EQ(loader.StartEpoch(0), 3);
  while (true) {
    ASSERT_OK_AND_ASSIGN(std::optional<data::ChipBatch> batch, loader.Next());
    if (!batch.has_value()) break;
    ASSERT_EQ(batch->size, 1);
    const data::ChipRecord& r = batch->records[0];
    const data::ImageAtScale at = data::MakeImageAtScale(
        snip.sampler, r.scale_index, kWidth, kHeight, snip.sampler.stride);
    EXPECT_EQ(r.chip, (data::Chip{0, 0, at.scaled_width, at.scaled_height}));
    snip_split[r.scale_index] = SplitOf(batch->labels[0], at.scale, r.chip);
    snip_labels[r.scale_index] = batch->labels[0];
    torch::Tensor images;
    std::vector<models::ChipTargets> targets;
    ChipBatchToTensors(*batch, lo.render, &images, &targets);
    snip_tensors[r.scale_index] = {images, targets[0]};
  }
  ASSERT_EQ(snip_split.size(), 3u);
  // Each sample carries its scale's valid range in its own pixels, which
  // keeps the RCNN head's proposals in range: the fine scale's [0, 40)
  // enlarged 3.2x, the middle one's [32, 96) 1.6x.
  EXPECT_FLOAT_EQ(snip_tensors[0].second.valid_min, 0);
  EXPECT_FLOAT_EQ(snip_tensors[0].second.valid_max, 128);
  EXPECT_FLOAT_EQ(snip_tensors[1].second.valid_min, 51.2);
  EXPECT_FLOAT_EQ(snip_tensors[1].second.valid_max, 153.6);
  EXPECT_TRUE(std::isinf(snip_tensors[2].second.valid_max));
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(snip_split[s].valid, kValidAt[s]) << "scale " << s;
    EXPECT_EQ(snip_split[s].ignored, Others(kValidAt[s])) << "scale " << s;
  }

  // SNIPER's chips of the same image: every box a chip holds whole is
  // ground truth there exactly when SNIP keeps it at that scale.
  const data::ChipSampler chip_sampler(chips.sampler);
  int chips_seen = 0;
  for (const data::ChipRecord& r : chip_sampler.Epoch(h.dataset, nullptr, 0)) {
    const data::ImageAtScale at = data::MakeImageAtScale(
        chips.sampler, r.scale_index, kWidth, kHeight, chips.sampler.stride);
    data::ChipLabels l;
    data::AssignChipLabels(chips.sampler, r.scale_index, at, r.chip,
                           h.dataset.boxes_of(0), h.dataset.labels_of(0),
                           h.dataset.crowd_of(0), &l);
    const Split s = SplitOf(l, at.scale, r.chip);
    for (int k : s.valid) {
      EXPECT_THAT(kValidAt[r.scale_index], ::testing::Contains(k))
          << "scale " << r.scale_index;
    }
    for (int k = 0; k < static_cast<int>(kBoxes.size()); ++k) {
      const data::Box b = InWindow(k, at.scale, 0, 0);
      const bool inside = b.x1 >= r.chip.x1 && b.y1 >= r.chip.y1 &&
                          b.x2 <= r.chip.x2 && b.y2 <= r.chip.y2;
      const bool valid_here = std::find(kValidAt[r.scale_index].begin(),
                                        kValidAt[r.scale_index].end(),
                                        k) != kValidAt[r.scale_index].end();
      if (inside && !valid_here) {
        EXPECT_THAT(s.ignored, ::testing::Contains(k))
            << "scale " << r.scale_index;
      }
    }
    // The coarse scale's image fits one chip: that chip is the whole image
    // and its labels are SNIP's, box for box.
    if (r.scale_index == 2) {
      EXPECT_EQ(r.chip, (data::Chip{0, 0, at.scaled_width, at.scaled_height}));
      const data::ChipLabels& w = snip_labels[2];
      ASSERT_EQ(l.boxes.size(), w.boxes.size());
      ASSERT_EQ(l.ignore.size(), w.ignore.size());
      for (size_t i = 0; i < l.boxes.size(); ++i) {
        EXPECT_TRUE(SameBox(l.boxes[i], w.boxes[i])) << i;
        EXPECT_EQ(l.labels[i], w.labels[i]);
      }
      for (size_t i = 0; i < l.ignore.size(); ++i) {
        EXPECT_TRUE(SameBox(l.ignore[i], w.ignore[i])) << i;
      }
    }
    ++chips_seen;
  }
  EXPECT_GE(chips_seen, 3);

  // The targets: at the fine scale, anchors over the ignored boxes are
  // neither positives nor negatives; without the ignore regions some would
  // have been background. The RCNN head leaves out a proposal that is an
  // ignored box and trains on one that is a valid box.
  const auto& [images, t] = snip_tensors[0];
  const int64_t fh = (images.size(2) + 15) / 16,
                fw = (images.size(3) + 15) / 16;
  const torch::Tensor anchors = ops::GridAnchors(snip.model.anchors, fh, fw,
                                                 torch::dtype(torch::kFloat32));
  ops::RpnTargetOptions all = snip.model.rpn_targets;
  all.batch_size = anchors.size(0);  // no sampling: every label stays
  all.positive_fraction = 1.0;
  const ops::RpnTargets with = ops::AssignRpnTargets(anchors, t.boxes, t.ignore,
                                                     t.height, t.width, all, 1);
  const ops::RpnTargets without = ops::AssignRpnTargets(
      anchors, t.boxes, torch::zeros({0, 4}), t.height, t.width, all, 1);
  ASSERT_EQ(t.ignore.size(0), 2);
  const torch::Tensor over_ignored =
      std::get<0>(ops::BoxIou(anchors, t.ignore).max(1)) > all.ignore_iou;
  ASSERT_GT(over_ignored.sum().item<int64_t>(), 10);
  EXPECT_TRUE(
      (with.labels.masked_select(over_ignored) == -1).all().item<bool>());
  EXPECT_GT(
      (without.labels.masked_select(over_ignored) == 0).sum().item<int64_t>(),
      0);
  EXPECT_GT((with.labels == 1).sum().item<int64_t>(), 0);  // the valid boxes

  ops::RcnnTargetOptions rcnn = snip.model.rcnn_targets;
  rcnn.add_gt = false;
  rcnn.batch_size = -1;
  const torch::Tensor proposals =
      torch::cat({t.ignore[0].view({1, 4}), t.boxes[0].view({1, 4})});
  const ops::RcnnTargets rt =
      ops::AssignRcnnTargets(proposals, t.boxes, t.labels, t.ignore, rcnn, 1);
  ASSERT_EQ(rt.rois.size(0), 1);
  EXPECT_TRUE(torch::equal(rt.rois[0], t.boxes[0]));
  EXPECT_EQ(rt.labels[0].item<int64_t>(), t.labels[0].item<int64_t>() + 1);
}

}  // namespace
}  // namespace sniper
