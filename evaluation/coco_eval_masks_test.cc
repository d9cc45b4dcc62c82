// File: evaluation/coco_eval_masks_test.cc
//
// iouType "segm": hand-made cases for EvaluateMasks and the mask fields of
// the evaluator's files (the random cross-check against an independent
// dense implementation is coco_eval_crosscheck_test.sh).
#include <string>
#include <vector>

#include "evaluation/coco_eval.h"
#include "evaluation/coco_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "masks/rle.h"
#include "port/status_matchers.h"

namespace sniper::evaluation {
namespace {

using ::testing::HasSubstr;

constexpr int kH = 8, kW = 10;

// A mask of kH x kW from text rows ('#' set).
masks::Rle Mask(const std::vector<std::string>& rows) {
  std::vector<uint8_t> m;
  for (const std::string& r : rows) {
    for (char c : r) m.push_back(c == '#');
  }
  return masks::EncodeRowMajor(m, kH, kW);
}

const std::vector<std::string> kL = {"##........",  //
                                     "##........",  //
                                     "##........",  //
                                     "##........",  //
                                     "#######...",  //
                                     "#######...",  //
                                     "..........",  //
                                     ".........."};
// Same tight box as kL (0..6 x 0..5), a different shape: IoU 6 / 34.
const std::vector<std::string> kGamma = {"#######...",  //
                                         "#######...",  //
                                         "......#...",  //
                                         "......#...",  //
                                         "......#...",  //
                                         "......#...",  //
                                         "..........",  //
                                         ".........."};

EvalGroundTruth OneImage(std::vector<GtBox> boxes) {
  EvalGroundTruth gt;
  gt.image_ids = {1};
  gt.category_ids = {3};
  gt.image_sizes = {{kH, kW}};
  gt.boxes = std::move(boxes);
  return gt;
}

GtBox Gt(const std::vector<std::string>& rows, bool crowd = false) {
  GtBox g;
  g.image_id = 1;
  g.category_id = 3;
  g.mask = Mask(rows);
  const masks::MaskBox b = masks::ToBox(g.mask);
  g.x = b.x, g.y = b.y, g.w = b.w, g.h = b.h;
  g.area = static_cast<double>(masks::Area(g.mask));
  g.iscrowd = crowd;
  return g;
}

Detection Det(const std::vector<std::string>& rows, double score) {
  Detection d;
  d.image_id = 1;
  d.category_id = 3;
  d.score = score;
  d.mask = Mask(rows);
  const masks::MaskBox b = masks::ToBox(d.mask);
  d.x = b.x, d.y = b.y, d.w = b.w, d.h = b.h;
  return d;
}

TEST(CocoEvalMasksTest, MasksNotBoxesDecideTheMatch) {
  const EvalGroundTruth gt = OneImage({Gt(kL)});
  const std::vector<Detection> wrong_shape = {Det(kGamma, 0.9)};
  ASSERT_OK_AND_ASSIGN(CocoEvalResult boxes, EvaluateBoxes(gt, wrong_shape));
  EXPECT_DOUBLE_EQ(boxes.stats[0], 1.0);  // identical boxes
  ASSERT_OK_AND_ASSIGN(CocoEvalResult segm, EvaluateMasks(gt, wrong_shape));
  EXPECT_DOUBLE_EQ(segm.stats[0], 0.0);  // mask IoU 6/34 < 0.5
  const std::vector<Detection> right = {Det(kL, 0.9)};
  ASSERT_OK_AND_ASSIGN(CocoEvalResult exact, EvaluateMasks(gt, right));
  EXPECT_DOUBLE_EQ(exact.stats[0], 1.0);
}

TEST(CocoEvalMasksTest, DetectionInsideACrowdRegionIsIgnored) {
  // A crowd region over the right half; a detection inside it has IoA 1
  // (IoU far below 0.5) and is ignored, not a false positive above the
  // true positive.
  const std::vector<std::string> crowd = {
      ".....#####", ".....#####", ".....#####", ".....#####",
      ".....#####", ".....#####", ".....#####", ".....#####"};
  const std::vector<std::string> small = {
      "..........", "..........", "........##", "........##",
      "..........", "..........", "..........", ".........."};
  const std::vector<std::string> left = {
      "###.......", "###.......", "###.......", "..........",
      "..........", "..........", "..........", ".........."};
  const EvalGroundTruth gt = OneImage({Gt(left), Gt(crowd, true)});
  ASSERT_OK_AND_ASSIGN(CocoEvalResult r,
                       EvaluateMasks(gt, std::vector<Detection>{
                                             Det(small, 0.9), Det(left, 0.5)}));
  EXPECT_DOUBLE_EQ(r.stats[0], 1.0);
  // Not a crowd: the same detection is a false positive ranked first.
  const EvalGroundTruth plain = OneImage({Gt(left), Gt(crowd, false)});
  ASSERT_OK_AND_ASSIGN(
      CocoEvalResult fp,
      EvaluateMasks(plain,
                    std::vector<Detection>{Det(small, 0.9), Det(left, 0.5)}));
  EXPECT_LT(fp.stats[1], 1.0);
}

TEST(CocoEvalMasksTest, MissingOrMisSizedMasksAreErrors) {
  const EvalGroundTruth gt = OneImage({Gt(kL)});
  Detection no_mask = Det(kL, 0.5);
  no_mask.mask = masks::Rle{};
  EXPECT_THAT(
      EvaluateMasks(gt, std::vector<Detection>{no_mask}).status().message(),
      HasSubstr("detection 0: no mask"));
  Detection other_size = Det(kL, 0.5);
  other_size.mask = masks::Rle{4, 5, {20}};
  EXPECT_THAT(
      EvaluateMasks(gt, std::vector<Detection>{other_size}).status().message(),
      HasSubstr("detection 0: mask size [4, 5] is not image 1's "
                "[8, 10]"));
  EvalGroundTruth bad = gt;
  bad.boxes[0].mask.counts = {3};
  EXPECT_THAT(EvaluateMasks(bad, {}).status().message(),
              HasSubstr("ground truth box 0: mask: counts sum to 3"));
}

constexpr char kGtWithPolygons[] = R"({
  "images": [{"id": 1, "height": 8, "width": 10}],
  "categories": [{"id": 3}],
  "annotations": [
    {"image_id": 1, "category_id": 3, "bbox": [1, 1, 3, 2], "area": 6,
     "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]]},
    {"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "area": 2,
     "iscrowd": 1, "segmentation": {"size": [8, 10], "counts": [78, 2]}}]})";

TEST(CocoEvalMasksTest, FilesCarryMasks) {
  ASSERT_OK_AND_ASSIGN(EvalGroundTruth gt,
                       ParseGroundTruthJson(kGtWithPolygons, "gt.json",
                                            /*with_masks=*/true));
  ASSERT_EQ(gt.boxes.size(), 2u);
  EXPECT_EQ(masks::Area(gt.boxes[0].mask), 6u);
  EXPECT_EQ(masks::Area(gt.boxes[1].mask), 2u);
  ASSERT_EQ(gt.image_sizes.size(), 1u);
  EXPECT_EQ(gt.image_sizes[0][0], 8);
  // A result's mask as written by WriteResultsJson; no bbox: the mask's.
  const masks::Rle square = gt.boxes[0].mask;
  const std::string results =
      R"([{"image_id": 1, "category_id": 3, "score": 0.5,
           "segmentation": {"size": [8, 10], "counts": ")" +
      masks::ToCompressedString(square) + R"("}}])";
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> dets,
                       ParseDetectionsJson(results, "r.json", true));
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].mask, square);
  EXPECT_EQ(dets[0].x, 1);
  EXPECT_EQ(dets[0].w, 3);
  ASSERT_OK_AND_ASSIGN(CocoEvalResult r, EvaluateMasks(gt, dets));
  EXPECT_DOUBLE_EQ(r.stats[0], 1.0);
}

TEST(CocoEvalMasksTest, FileErrorsNameThePlace) {
  auto gt_error = [](const std::string& json) {
    auto r = ParseGroundTruthJson(json, "gt.json", true);
    return r.ok() ? std::string("(parsed)") : std::string(r.status().message());
  };
  EXPECT_EQ(gt_error(R"({"images": [{"id": 1, "width": 4}],
      "categories": [{"id": 3}], "annotations": []})"),
            "gt.json: images[0]: missing field \"height\" (segm evaluation "
            "needs the image's size)");
  EXPECT_EQ(gt_error(R"({"images": [{"id": 1, "height": 4, "width": 4}],
      "categories": [{"id": 3}], "annotations": [{"image_id": 1,
      "category_id": 3, "bbox": [0, 0, 1, 1]}]})"),
            "gt.json: annotations[0]: missing field \"segmentation\"");
  EXPECT_EQ(gt_error(R"({"images": [{"id": 1, "height": 4, "width": 4}],
      "categories": [{"id": 3}], "annotations": [{"image_id": 1,
      "category_id": 3, "bbox": [0, 0, 1, 1], "segmentation": []}]})"),
            "gt.json: annotations[0].segmentation: segmentation has no "
            "polygons");
  auto r = ParseDetectionsJson(
      R"([{"image_id": 1, "category_id": 3, "score": 1,
           "segmentation": [[0, 0, 2, 0, 2, 2]]}])",
      "r.json", true);
  EXPECT_THAT(r.status().message(),
              HasSubstr("r.json: [0].segmentation: a result's mask must be "
                        "an RLE"));
  // Box evaluation neither needs nor reads segmentations.
  EXPECT_TRUE(ParseDetectionsJson(
                  R"([{"image_id": 1, "category_id": 3, "score": 1,
                       "bbox": [0, 0, 1, 1], "segmentation": 7}])",
                  "r.json")
                  .ok());
}

}  // namespace
}  // namespace sniper::evaluation
