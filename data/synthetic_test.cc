#include "data/synthetic.h"

#include <cmath>
#include <string>
#include <vector>

#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "gtest/gtest.h"
#include "masks/rle.h"
#include "masks/segmentation.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

TEST(SyntheticTest, WritesAReadableDeterministicDataset) {
  const std::string a = std::string(::testing::TempDir()) + "/syn_a";
  const std::string b = std::string(::testing::TempDir()) + "/syn_b";
  SyntheticOptions o;
  o.train_images = 8;
  o.val_images = 3;
  o.seed = 4;
  o.min_side = 200;
  o.max_side = 500;
  SyntheticSplitStats train, val;
  ASSERT_OK(WriteSyntheticDataset(a, o, &train, &val));
  EXPECT_EQ(train.images, 8);
  EXPECT_EQ(val.images, 3);
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadCocoInstances(a + "/instances_train.json", {}));
  EXPECT_EQ(ds.num_images(), 8u);
  EXPECT_EQ(static_cast<int64_t>(ds.num_boxes()), train.boxes);
  EXPECT_EQ(ds.num_categories(), 5u);
  EXPECT_EQ(ds.categories()[2].name, "triangle");
  for (size_t i = 0; i < ds.num_images(); ++i) {
    const CocoImage& im = ds.image(i);
    ASSERT_OK_AND_ASSIGN(
        DecodedRegion r,
        DecodeImageFileRegion(a + "/images/" + im.file_name, {}));
    EXPECT_EQ(r.full_width, im.width);
    EXPECT_EQ(r.full_height, im.height);
    EXPECT_GE(im.width, 200);
    EXPECT_LE(im.width, 500);
  }
  // Same options, same bytes.
  SyntheticSplitStats t2, v2;
  ASSERT_OK(WriteSyntheticDataset(b, o, &t2, &v2));
  std::string ja, jb, ia, ib;
  ASSERT_OK(ReadFileToString(a + "/instances_train.json", &ja));
  ASSERT_OK(ReadFileToString(b + "/instances_train.json", &jb));
  EXPECT_EQ(ja, jb);
  ASSERT_OK(ReadFileToString(a + "/images/train_000003.jpg", &ia));
  ASSERT_OK(ReadFileToString(b + "/images/train_000003.jpg", &ib));
  EXPECT_EQ(ia, ib);
  // A different seed, a different dataset.
  o.seed = 5;
  const std::string c = std::string(::testing::TempDir()) + "/syn_c";
  ASSERT_OK(WriteSyntheticDataset(c, o, &t2, &v2));
  std::string jc;
  ASSERT_OK(ReadFileToString(c + "/instances_train.json", &jc));
  EXPECT_NE(ja, jc);
}

// A fresh cache root: the directory's parents do not exist yet (#19: an
// empty HOME without ~/.cache/sniper-cpp).
TEST(SyntheticTest, CreatesMissingParentDirectories) {
  const std::string dir =
      std::string(::testing::TempDir()) + "/fresh_home/.cache/sniper-cpp/syn";
  SyntheticOptions o;
  o.train_images = 1;
  o.val_images = 1;
  o.min_side = 64;
  o.max_side = 80;
  SyntheticSplitStats t, v;
  ASSERT_OK(WriteSyntheticDataset(dir, o, &t, &v));
  EXPECT_EQ(t.images, 1);
  EXPECT_EQ(v.images, 1);
}

TEST(SyntheticTest, RejectsBadOptions) {
  SyntheticOptions o;
  o.max_side = 100;
  o.min_side = 200;
  SyntheticSplitStats t, v;
  EXPECT_EQ(WriteSyntheticDataset(::testing::TempDir(), o, &t, &v).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SyntheticTest, ObjectSidesFollowTheObjectOptions) {
  // Tiny objects in large images: sides sqrt(w * h) within [6, 20] (the
  // aspect ratio keeps the area; nothing is clipped in a 900 px image),
  // crowded groups' from 6 x 8 / 14 = 3.4 px.
  SyntheticOptions o;
  o.train_images = 6;
  o.val_images = 1;
  o.min_side = 900;
  o.max_side = 1000;
  o.min_object_side = 6;
  o.max_object_side = 20;
  const std::string dir = ::testing::TempDir() + "/synthetic_tiny";
  SyntheticSplitStats t, v;
  ASSERT_OK(WriteSyntheticDataset(dir, o, &t, &v));
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadCocoInstances(dir + "/instances_train.json", {}));
  ASSERT_GT(ds.num_boxes(), 6u);
  for (const BoxXYWH& b : ds.boxes()) {
    const double side = std::sqrt(double{b.w} * b.h);
    EXPECT_GE(side, 6 * 8 / 14.0 - 1e-3);
    EXPECT_LE(side, 20 + 1e-3);
  }
  EXPECT_EQ(t.large, 0);
  o.min_object_side = 25;  // above the cap
  EXPECT_EQ(WriteSyntheticDataset(dir, o, &t, &v).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SyntheticTest, MasksAreTheVisiblePixelsOfEachObject) {
  const std::string dir = std::string(::testing::TempDir()) + "/syn_masks";
  SyntheticOptions o;
  o.train_images = 30;
  o.val_images = 1;
  o.seed = 9;
  o.min_side = 160;
  o.max_side = 400;
  SyntheticSplitStats train, val;
  ASSERT_OK(WriteSyntheticDataset(dir, o, &train, &val));
  EXPECT_TRUE(SyntheticDatasetIsCurrent(dir));
  CocoReaderOptions keep;
  keep.keep_segmentations = true;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadCocoInstances(dir + "/instances_train.json", keep));
  ASSERT_EQ(ds.stats().segmentations, train.boxes);
  int64_t hidden = 0, full_discs = 0;
  for (size_t i = 0; i < ds.num_images(); ++i) {
    const CocoImage& im = ds.image(i);
    const auto boxes = ds.boxes_of(i);
    const auto segs = ds.segmentations_of(i);
    const auto labels = ds.labels_of(i);
    std::vector<masks::Rle> seen;
    for (size_t b = 0; b < boxes.size(); ++b) {
      ASSERT_EQ(segs[b].kind, masks::Segmentation::Kind::kRle);
      ASSERT_OK_AND_ASSIGN(masks::Rle m,
                           masks::ToRle(segs[b], im.height, im.width));
      const uint64_t area = masks::Area(m);
      if (area == 0) {
        ++hidden;
        continue;
      }
      // Inside the drawn box (pixel centres inside it).
      const masks::MaskBox mb = masks::ToBox(m);
      EXPECT_GE(mb.x, std::floor(boxes[b].x));
      EXPECT_GE(mb.y, std::floor(boxes[b].y));
      EXPECT_LE(mb.x + mb.w, std::ceil(boxes[b].x + boxes[b].w));
      EXPECT_LE(mb.y + mb.h, std::ceil(boxes[b].y + boxes[b].h));
      // No pixel belongs to two objects.
      for (const masks::Rle& other : seen) {
        EXPECT_EQ(masks::ComputeOverlap(m, other).intersection, 0u);
      }
      seen.push_back(m);
      // The last object drawn is fully visible: a disc's mask is the
      // ellipse of its box, to its perimeter.
      if (b + 1 == boxes.size() && labels[b] == 0) {
        const double ellipse = M_PI / 4 * boxes[b].w * boxes[b].h;
        const double perimeter = M_PI * (boxes[b].w + boxes[b].h) / 2;
        EXPECT_NEAR(static_cast<double>(area), ellipse, perimeter);
        ++full_discs;
      }
    }
  }
  EXPECT_EQ(hidden, train.hidden);
  EXPECT_GT(full_discs, 0);
}

TEST(SyntheticTest, ADatasetOfAnotherFormatIsNotCurrent) {
  const std::string dir = std::string(::testing::TempDir()) + "/syn_old";
  SyntheticOptions o;
  o.train_images = 1;
  o.val_images = 1;
  o.min_side = 64;
  o.max_side = 64;
  SyntheticSplitStats train, val;
  ASSERT_OK(WriteSyntheticDataset(dir, o, &train, &val));
  ASSERT_TRUE(SyntheticDatasetIsCurrent(dir));
  ASSERT_OK(WriteFileAtomically(dir + "/FORMAT", "1\n"));
  EXPECT_FALSE(SyntheticDatasetIsCurrent(dir));
  EXPECT_FALSE(SyntheticDatasetIsCurrent(dir + "/missing"));
}

}  // namespace
}  // namespace sniper::data
