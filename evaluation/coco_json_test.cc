// The evaluator's file readers: errors name the file and the JSON path,
// and a ground-truth box is checked against the ground truth's own lists
// (reported against the ground-truth file, not the detections).
#include "evaluation/coco_json.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::evaluation {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr char kLists[] =
    R"("images": [{"id": 1}, {"id": 2}], "categories": [{"id": 5}])";

TEST(CocoJsonTest, ReadsGroundTruthWithAreaAndCrowd) {
  const std::string gt = Write(
      "gt.json", std::string("{") + kLists +
                     R"(, "annotations": [{"image_id": 2, "category_id": 5,
                     "bbox": [1, 2, 3, 4], "area": 7.5, "iscrowd": 1}]})");
  ASSERT_OK_AND_ASSIGN(EvalGroundTruth g, ReadGroundTruthJson(gt));
  ASSERT_EQ(g.boxes.size(), 1u);
  EXPECT_EQ(g.boxes[0].image_id, 2);
  EXPECT_EQ(g.boxes[0].area, 7.5);
  EXPECT_TRUE(g.boxes[0].iscrowd);
  EXPECT_EQ(g.image_ids.size(), 2u);
}

TEST(CocoJsonTest, UnknownImageOrCategoryNamesTheGroundTruthFile) {
  const std::string gt = Write(
      "gt_bad_image.json",
      std::string("{") + kLists +
          R"(, "annotations": [{"image_id": 1, "category_id": 5, "bbox": [0,
          0, 1, 1]}, {"image_id": 9, "category_id": 5, "bbox": [0, 0, 1, 1]}]})");
  EXPECT_THAT(ReadGroundTruthJson(gt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(gt + ": annotations[1].image_id: 9 is not "
                                      "in images")));
  const std::string gt2 = Write(
      "gt_bad_category.json",
      std::string("{") + kLists +
          R"(, "annotations": [{"image_id": 1, "category_id": 6, "bbox": [0,
          0, 1, 1]}]})");
  EXPECT_THAT(ReadGroundTruthJson(gt2).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(gt2 + ": annotations[0].category_id: 6 is "
                                       "not in categories")));
}

TEST(CocoJsonTest, DetectionErrorsNameTheResultsFileAndIndex) {
  const std::string dets =
      Write("dets.json", R"([{"image_id": 1, "category_id": 5, "bbox": [0, 0, 1,
      1], "score": 0.5}, {"image_id": 1, "category_id": 5, "bbox": [0, 0, 1,
      1], "score": "high"}])");
  EXPECT_THAT(ReadDetectionsJson(dets).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(dets + ": [1].score")));
}

TEST(CocoJsonTest, OutOfRangeNumbersNameTheirPath) {
  const std::string dets =
      Write("big.json", R"([{"image_id": 1, "category_id": 5, "bbox": [0, 0, 1,
      1], "score": 0.5}, {"image_id": 1, "category_id": 5, "bbox": [0, 0, 1,
      1], "score": 1e999}])");
  EXPECT_THAT(ReadDetectionsJson(dets).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(dets + ": [1].score (line 3): 1e999")));
  const std::string gt = Write(
      "big_id.json", std::string("{") + kLists +
                         R"(, "annotations": [{"image_id": 99999999999999999999,
                         "category_id": 5, "bbox": [0, 0, 1, 1]}]})");
  EXPECT_THAT(ReadGroundTruthJson(gt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("annotations[0].image_id (line 1)")));
}

}  // namespace
}  // namespace sniper::evaluation
