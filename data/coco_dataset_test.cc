#include "data/coco_dataset.h"

#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "data/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kCategories[] =
    R"("categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person",
      "supercategory": "person"}])";

std::string Doc(const std::string& images, const std::string& annotations) {
  return absl::StrCat("{\"images\": [", images, "], \"annotations\": [",
                      annotations, "], ", kCategories, "}");
}

constexpr char kImage[] =
    R"({"id": 7, "width": 640, "height": 480, "file_name": "a.jpg"})";

absl::StatusOr<CocoDataset> Parse(const std::string& json,
                                  CocoReaderOptions options = {}) {
  return ParseCocoInstances(json, "t.json", options);
}

void ExpectInvalid(const std::string& json, const std::string& what,
                   CocoReaderOptions options = {}) {
  const auto result = Parse(json, options);
  EXPECT_THAT(result,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what)))
      << json;
  if (!result.ok()) {
    EXPECT_THAT(result.status().message(), HasSubstr("t.json"));
  }
}

TEST(CocoDatasetTest, ParsesAndGroupsBoxesByImage) {
  const std::string json =
      Doc(absl::StrCat(kImage, R"(, {"file_name": "b.jpg", "height": 100,
                    "width": 200, "id": 3000000000, "extra": [1, {"x": 2}]})"),
          R"({"id": 1, "image_id": 3000000000, "category_id": 18,
          "bbox": [10, 20, 30.5, 40], "area": 5, "segmentation": [[1, 2]]},
         {"id": 900100000149, "image_id": 7, "category_id": 1,
          "bbox": [0, 0, 64, 48], "iscrowd": 1},
         {"id": 2, "image_id": 7, "category_id": 18,
          "bbox": [1.5, 2.5, 3.5, 4.5], "iscrowd": 0})");
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, Parse(json));
  ASSERT_EQ(ds.num_images(), 2u);
  EXPECT_EQ(ds.num_boxes(), 3u);
  EXPECT_EQ(ds.image(1).id, 3000000000LL);
  EXPECT_EQ(ds.image(1).width, 200);
  EXPECT_EQ(ds.image(1).file_name, "b.jpg");
  // Labels follow ascending category id: 1 -> 0 (person), 18 -> 1 (dog).
  ASSERT_EQ(ds.num_categories(), 2u);
  EXPECT_EQ(ds.categories()[0].name, "person");
  EXPECT_EQ(ds.LabelOfCategory(18), 1);
  EXPECT_EQ(ds.LabelOfCategory(5), -1);
  // Image 7 owns two boxes in file order.
  ASSERT_EQ(ds.boxes_of(0).size(), 2u);
  EXPECT_EQ(ds.annotation_ids_of(0)[0], 900100000149LL);
  EXPECT_EQ(ds.crowd_of(0)[0], 1);
  EXPECT_EQ(ds.labels_of(0)[0], 0);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[1].h, 4.5f);
  EXPECT_EQ(ds.crowd_of(0)[1], 0);
  ASSERT_EQ(ds.boxes_of(1).size(), 1u);
  EXPECT_FLOAT_EQ(ds.boxes_of(1)[0].w, 30.5f);
  EXPECT_EQ(ds.IndexOfImage(3000000000LL), 1);
  EXPECT_EQ(ds.stats().crowd_boxes, 1);
}

TEST(CocoDatasetBuilderTest, ImagesOwnTheAnnotationsAddedAfterThem) {
  CocoDatasetBuilder b("built");
  b.SetCategories({{1, "person", ""}, {18, "dog", ""}}).KeepSegmentations();
  b.AddImage({7, 640, 480, "a.jpg"});
  b.AddAnnotation({{0, 0, 64, 48}, 0, true, 11});
  masks::Segmentation triangle;
  triangle.AddPolygon({1, 1, 3, 1, 3, 3});
  b.AddAnnotation({{1, 2, 3, 4}, 1, false, 12, triangle});
  b.AddImage({9, 100, 50, "empty.jpg", /*first_box=*/99, /*num_boxes=*/5});
  b.AddImage({8, 200, 100, "b.jpg"});
  b.AddAnnotation({{5, 5, 10, 10}, 1, false, 13});
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, std::move(b).Build());
  EXPECT_EQ(ds.source(), "built");
  ASSERT_EQ(ds.num_images(), 3u);
  EXPECT_EQ(ds.num_boxes(), 3u);
  EXPECT_EQ(ds.boxes_of(0).size(), 2u);
  EXPECT_EQ(ds.boxes_of(1).size(), 0u);  // the builder sets the ranges
  ASSERT_EQ(ds.boxes_of(2).size(), 1u);
  EXPECT_EQ(ds.annotation_ids_of(2)[0], 13);
  EXPECT_EQ(ds.crowd_of(0)[0], 1);
  EXPECT_EQ(ds.LabelOfCategory(18), 1);
  EXPECT_EQ(ds.IndexOfImage(8), 2);
  ASSERT_TRUE(ds.has_segmentations());
  EXPECT_EQ(ds.segmentations_of(0)[1].kind,
            masks::Segmentation::Kind::kPolygons);
  EXPECT_EQ(ds.segmentations_of(0)[0].kind, masks::Segmentation::Kind::kNone);

  // Subset: the images asked for, in that order, with their annotations.
  ASSERT_OK_AND_ASSIGN(CocoDataset sub, ds.Subset({2, 0}));
  ASSERT_EQ(sub.num_images(), 2u);
  EXPECT_EQ(sub.image(0).id, 8);
  EXPECT_EQ(sub.annotation_ids_of(0)[0], 13);
  EXPECT_EQ(sub.boxes_of(1).size(), 2u);
  EXPECT_EQ(sub.segmentations_of(1)[1].kind,
            masks::Segmentation::Kind::kPolygons);
  EXPECT_EQ(sub.IndexOfImage(7), 1);
  EXPECT_EQ(sub.num_categories(), 2u);
  EXPECT_THAT(ds.Subset({0, 3}).status(),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("no image 3")));
  EXPECT_THAT(ds.Subset({0, 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("image id 7 added twice")));
  const CocoDataset first = ds.Prefix(1);
  EXPECT_EQ(first.num_images(), 1u);
  EXPECT_EQ(first.num_boxes(), 2u);
  EXPECT_EQ(ds.Prefix(10).num_images(), 3u);
}

TEST(CocoDatasetBuilderTest, MisuseIsReportedByBuildNamingTheSource) {
  {
    CocoDatasetBuilder b("early");
    b.AddAnnotation({{0, 0, 1, 1}, 0, false, 5});
    EXPECT_THAT(std::move(b).Build().status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("early: annotation 5 added before any")));
  }
  {
    CocoDatasetBuilder b("labels");
    b.SetCategories({{1, "a", ""}});
    b.AddImage({1, 10, 10, "x.jpg"});
    b.AddAnnotation({{0, 0, 1, 1}, 1, false, 6});
    EXPECT_THAT(std::move(b).Build().status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("label 1 is not one of the 1 categories")));
  }
  {
    CocoDatasetBuilder b("order");
    b.SetCategories({{5, "a", ""}, {2, "b", ""}});
    EXPECT_THAT(std::move(b).Build().status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("increasing id order: id 2 after 5")));
  }
}

TEST(CocoDatasetTest, KeyOrderDoesNotMatter) {
  const std::string json =
      absl::StrCat("{", kCategories, R"(, "annotations": [{"bbox": [1, 1, 2, 2],
      "category_id": 1, "image_id": 7, "id": 5}], "images": [)",
                   kImage, "]}");
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, Parse(json));
  EXPECT_EQ(ds.boxes_of(0).size(), 1u);
}

TEST(CocoDatasetTest, ImagesWithoutBoxesAreKeptAndCounted) {
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, Parse(Doc(kImage, "")));
  EXPECT_EQ(ds.num_images(), 1u);
  EXPECT_EQ(ds.boxes_of(0).size(), 0u);
  EXPECT_EQ(ds.stats().images_without_boxes, 1);
}

TEST(CocoDatasetTest, TruncatedJsonIsAnError) {
  const std::string json = Doc(kImage, R"({"id": 1, "image_id": 7,
      "category_id": 1, "bbox": [1, 1, 2, 2]})");
  for (size_t cut : {json.size() - 1, json.size() / 2, size_t{10}, size_t{1}}) {
    const auto result = Parse(json.substr(0, cut));
    EXPECT_FALSE(result.ok()) << "cut at " << cut;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr("t.json"));
  }
  ExpectInvalid("", "t.json");
  ExpectInvalid("[1, 2]", "$: expected an object, got array");
}

TEST(CocoDatasetTest, WrongTypesNameThePath) {
  ExpectInvalid(
      Doc(R"({"id": "7", "width": 1, "height": 1, "file_name": "x"})", ""),
      "images[0].id: expected an integer, got string");
  ExpectInvalid(Doc(kImage, R"({"id": 1, "image_id": 7, "category_id": 1,
                    "bbox": [1, "1", 2, 2]})"),
                "annotations[0].bbox[1]: expected a number, got string");
  ExpectInvalid(Doc(kImage, R"({"id": 1, "image_id": 7, "category_id": 1,
                    "bbox": [1, 1, 2]})"),
                "annotations[0].bbox: expected 4 numbers");
  ExpectInvalid(Doc(kImage, R"({"id": 1.5, "image_id": 7, "category_id": 1,
                    "bbox": [1, 1, 2, 2]})"),
                "annotations[0].id: expected an integer");
  ExpectInvalid(Doc(kImage, R"({"id": 1, "image_id": 7, "category_id": 1,
                    "bbox": [1, 1, 2, 2], "iscrowd": 2})"),
                "annotations[0].iscrowd: must be 0 or 1");
  ExpectInvalid(R"({"images": {}, "categories": []})",
                "images: expected an array, got object");
  ExpectInvalid(
      Doc(R"({"id": 1, "width": -4, "height": 1, "file_name": "x"})", ""),
      "images[0].width: must be in [1, 1048576], got -4");
  // Numbers the JSON parser refuses for the whole document still get the
  // field's path.
  ExpectInvalid(Doc(kImage, R"({"id": 18446744073709551616, "image_id": 7,
                    "category_id": 1, "bbox": [1, 1, 2, 2]})"),
                "annotations[0].id (line 1): 18446744073709551616: does not "
                "fit a 64-bit integer or a double");
  ExpectInvalid(Doc(kImage, R"({"id": 1, "image_id": 7, "category_id": 1,
                    "bbox": [1, 1e999, 2, 2]})"),
                "annotations[0].bbox[1] (line 2): 1e999");
}

TEST(CocoDatasetTest, MissingFieldsNameTheEntry) {
  ExpectInvalid(Doc(R"({"id": 1, "width": 4, "file_name": "x"})", ""),
                "images[0]: missing field \"height\"");
  ExpectInvalid(Doc(kImage, R"({"id": 1, "image_id": 7, "bbox": [1,1,2,2]})"),
                "annotations[0]: missing field \"category_id\"");
  ExpectInvalid(R"({"annotations": [], "categories": []})",
                "missing field \"images\"");
  ExpectInvalid(R"({"images": [], "annotations": []})",
                "missing field \"categories\"");
}

TEST(CocoDatasetTest, InconsistentReferencesAreErrors) {
  ExpectInvalid(Doc(absl::StrCat(kImage, ",", kImage), ""),
                "images[1].id: duplicate image id 7");
  const std::string box = R"("category_id": 1, "bbox": [1, 1, 2, 2])";
  ExpectInvalid(
      Doc(kImage, absl::StrCat(R"({"id": 4, "image_id": 7, )", box,
                               R"(}, {"id": 4, "image_id": 7, )", box, "}")),
      "annotations[1].id: duplicate annotation id 4");
  ExpectInvalid(
      Doc(kImage, absl::StrCat(R"({"id": 4, "image_id": 8, )", box, "}")),
      "annotations[0].image_id: no image with id 8");
  ExpectInvalid(Doc(kImage, R"({"id": 4, "image_id": 7, "category_id": 2,
                    "bbox": [1, 1, 2, 2]})"),
                "annotations[0].category_id: unknown category id 2");
  ExpectInvalid(R"({"images": [], "categories": [{"id": 1, "name": "a"},
                    {"id": 1, "name": "b"}]})",
                "duplicate category id 1");
}

TEST(CocoDatasetTest, InvalidBoxesErrorOrAreSkippedAndCounted) {
  const std::string json =
      Doc(kImage,
          R"({"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 1, 0, 5]},
         {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 1, 5, -2]},
         {"id": 3, "image_id": 7, "category_id": 1, "bbox": [600, 1, 50, 5]},
         {"id": 4, "image_id": 7, "category_id": 1, "bbox": [-0.5, 1, 10, 5]},
         {"id": 5, "image_id": 7, "category_id": 1, "bbox": [2, 2, 10, 5]})");
  ExpectInvalid(json, "annotations[0].bbox: box has non-positive size 0x5");
  CocoReaderOptions skip;
  skip.invalid_box_policy = InvalidBoxPolicy::kSkip;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, Parse(json, skip));
  EXPECT_EQ(ds.stats().annotations, 5);
  EXPECT_EQ(ds.stats().skipped_invalid_boxes, 3);
  EXPECT_EQ(ds.stats().clipped_boxes, 1);
  ASSERT_EQ(ds.num_boxes(), 2u);
  // Box 4 (0.5 px outside, within the 1 px tolerance) is clipped.
  EXPECT_EQ(ds.annotation_ids_of(0)[0], 4);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[0].x, 0.0f);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[0].w, 9.5f);
  // Outside beyond tolerance names the image and the amount.
  CocoReaderOptions strict;
  ExpectInvalid(Doc(kImage, R"({"id": 3, "image_id": 7, "category_id": 1,
                    "bbox": [600, 1, 50, 5]})"),
                "lies outside image 7 (640x480) by more than 1 px");
}

TEST(CocoDatasetTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadCocoInstances("/nonexistent/instances.json", {}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/nonexistent/instances.json")));
}

TEST(CocoDatasetTest, ReadsRealCocoMini) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/instances.json");
  if (path.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, ReadCocoInstances(path, {}));
  // Counts documented in shared/data/README.md.
  EXPECT_EQ(ds.num_images(), 747u);
  EXPECT_EQ(ds.num_boxes(), 6423u);
  EXPECT_EQ(ds.stats().crowd_boxes, 50);
  EXPECT_EQ(ds.num_categories(), 80u);
  EXPECT_EQ(ds.stats().images_without_boxes, 5);
  EXPECT_EQ(ds.stats().skipped_invalid_boxes, 0);
  // Crowd ids above 2^31 survive as int64.
  int64_t max_id = 0;
  for (size_t i = 0; i < ds.num_images(); ++i) {
    for (int64_t id : ds.annotation_ids_of(i)) max_id = std::max(max_id, id);
  }
  EXPECT_GE(max_id, 900100000149LL);
  EXPECT_EQ(ds.LabelOfCategory(1), 0);
  EXPECT_EQ(ds.LabelOfCategory(90), 79);
}

}  // namespace
}  // namespace sniper::data

namespace sniper::data {
namespace {

// Random byte edits of a valid document never crash the reader: each parse
// either succeeds or returns InvalidArgument naming the file.
TEST(CocoDatasetFuzzTest, MutatedDocumentsNeverCrash) {
  const std::string json =
      Doc(absl::StrCat(kImage, R"(, {"id": 8, "width": 10, "height": 10,
                   "file_name": "b.jpg"})"),
          R"({"id": 1, "image_id": 7, "category_id": 18, "bbox": [1, 2, 3, 4],
          "iscrowd": 0}, {"id": 2, "image_id": 8, "category_id": 1,
          "bbox": [0, 0, 5, 5], "iscrowd": 1})");
  std::mt19937 rng(11);
  const std::string alphabet = "{}[]\",:0123456789.-eE truefalsnul";
  int ok = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string m = json;
    const int edits = 1 + trial % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % m.size();
      switch (rng() % 3) {
        case 0:
          m[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          m.erase(pos, 1 + rng() % 8);
          break;
        default:
          m.insert(pos, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    const auto result = ParseCocoInstances(m, "fuzz.json", {});
    if (result.ok()) {
      ++ok;
      continue;
    }
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << result.status();
    ASSERT_THAT(result.status().message(), HasSubstr("fuzz.json: "));
  }
  EXPECT_LT(ok, 3000);
}

}  // namespace
}  // namespace sniper::data
