// File: data/coco_dataset_segmentation_test.cc
//
// The COCO reader with CocoReaderOptions::keep_segmentations.
#include <string>

#include "absl/strings/str_cat.h"
#include "data/coco_dataset.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "masks/rle.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;
using Kind = masks::Segmentation::Kind;

std::string Doc(const std::string& annotations) {
  return absl::StrCat(
      R"({"images": [{"id": 7, "width": 6, "height": 4, "file_name": "a.jpg"},
                     {"id": 8, "width": 3, "height": 2, "file_name": "b.jpg"}],
          "categories": [{"id": 1, "name": "thing"}],
          "annotations": [)",
      annotations, "]}");
}

CocoReaderOptions Keep() {
  CocoReaderOptions o;
  o.keep_segmentations = true;
  return o;
}

TEST(CocoSegmentationTest, KeepsPolygonsAndRlesParallelToBoxes) {
  // Image 8's crowd region as uncompressed counts (column-major: column 0
  // clear, columns 1-2 set), image 7's as a polygon and as compressed
  // counts, and one annotation without a segmentation.
  const std::string json = Doc(R"(
      {"id": 1, "image_id": 8, "category_id": 1, "bbox": [1, 0, 2, 2],
       "iscrowd": 1, "segmentation": {"size": [2, 3], "counts": [2, 4]}},
      {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 1, 3, 2],
       "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]]},
      {"id": 3, "image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1]},
      {"id": 4, "image_id": 7, "category_id": 1, "bbox": [0, 0, 6, 4],
       "segmentation": {"size": [4, 6], "counts": "0h0"}})");
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ParseCocoInstances(json, "t.json", Keep()));
  ASSERT_TRUE(ds.has_segmentations());
  EXPECT_EQ(ds.stats().segmentations, 3);
  // Image 7 (index 0): annotations 2, 3, 4 in file order.
  const auto segs7 = ds.segmentations_of(0);
  ASSERT_EQ(segs7.size(), 3u);
  EXPECT_EQ(ds.annotation_ids_of(0)[0], 2);
  EXPECT_EQ(segs7[0].kind, Kind::kPolygons);
  ASSERT_OK_AND_ASSIGN(masks::Rle square, masks::ToRle(segs7[0], 4, 6));
  EXPECT_EQ(masks::Area(square), 6u);
  EXPECT_EQ(segs7[1].kind, Kind::kNone);
  EXPECT_EQ(segs7[2].kind, Kind::kRle);
  EXPECT_EQ(masks::Area(segs7[2].rle), 24u);  // "0h0": 0 clear, 24 set
  // Image 8 (index 1): the crowd region.
  const auto segs8 = ds.segmentations_of(1);
  ASSERT_EQ(segs8.size(), 1u);
  EXPECT_EQ(ds.crowd_of(1)[0], 1);
  ASSERT_OK_AND_ASSIGN(masks::Rle crowd, masks::ToRle(segs8[0], 2, 3));
  EXPECT_EQ(crowd.counts, (std::vector<uint32_t>{2, 4}));
}

TEST(CocoSegmentationTest, MalformedSegmentationsNameTheAnnotation) {
  auto error = [](const std::string& annotation) {
    absl::StatusOr<CocoDataset> ds =
        ParseCocoInstances(Doc(annotation), "t.json", Keep());
    return ds.ok() ? std::string("(parsed)")
                   : std::string(ds.status().message());
  };
  EXPECT_EQ(error(R"({"id": 5, "image_id": 7, "category_id": 1,
      "bbox": [0, 0, 1, 1], "segmentation": [[1, 1, "x", 2, 3, 3]]})"),
            "t.json: annotations[0]: segmentation[0][2]: expected a number, "
            "got string");
  EXPECT_EQ(error(R"({"id": 5, "image_id": 7, "category_id": 1,
      "bbox": [0, 0, 1, 1], "segmentation": {"size": [4, 6], "counts": [23]}})"),
            "t.json: annotations[0]: segmentation.counts: counts sum to 23, "
            "size [4, 6] has 24 pixels");
  EXPECT_EQ(error(R"({"id": 5, "image_id": 7, "category_id": 1,
      "bbox": [0, 0, 1, 1], "segmentation": {"size": [2, 3], "counts": [6]}})"),
            "t.json: annotations[0].segmentation: RLE size [2, 3] is not "
            "image 7's [4, 6]");
}

TEST(CocoSegmentationTest, OffByDefaultAndNotRead) {
  const std::string json = Doc(R"({"id": 5, "image_id": 7, "category_id": 1,
      "bbox": [0, 0, 1, 1], "segmentation": [[1, 1, "x"]]})");
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, ParseCocoInstances(json, "t.json", {}));
  EXPECT_FALSE(ds.has_segmentations());
  EXPECT_TRUE(ds.segmentations_of(0).empty());
  EXPECT_EQ(ds.stats().segmentations, 0);
  EXPECT_THAT(ParseCocoInstances(json, "t.json", Keep()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segmentation[0][2]")));
}

}  // namespace
}  // namespace sniper::data
