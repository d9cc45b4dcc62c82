// File: evaluation/coco_eval_masks_test.cc
//
// iouType "segm": hand-made cases for EvaluateMasks and the mask fields of
// the evaluator's files (the random cross-check against an independent
// dense implementation is coco_eval_crosscheck_test.sh).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

// A kSize x kSize image whose mask is the rectangle [x, x + w) x [y, y + h).
constexpr int kSize = 100;
masks::Rle Rect(int x, int y, int w, int h) {
  std::vector<uint8_t> m(kSize * kSize, 0);
  for (int r = y; r < y + h; ++r) {
    for (int c = x; c < x + w; ++c) m[r * kSize + c] = 1;
  }
  return masks::EncodeRowMajor(m, kSize, kSize);
}

// As a JSON value (compressed counts may hold a backslash).
std::string RleJson(const masks::Rle& m) {
  return absl::StrCat(
      R"({"size": [100, 100], "counts": ")",
      absl::StrReplaceAll(masks::ToCompressedString(m), {{"\\", "\\\\"}}),
      R"("})");
}

// The regression case of a detection whose bbox and mask areas fall in
// different size ranges: one small ground truth (10 x 10) found by a
// detection scored 0.5, and above it an unmatched detection with a small
// mask (5 x 4 = 20 pixels) and a medium box (40 x 40 = 1600). The
// reference's loadRes gives a result the box's area when the file's first
// result has a bbox: the false positive is then outside the small range and
// ignored there (APs 1); without bboxes it has the mask's area and counts
// (APs 0.5). AP over all areas is 0.5 either way.
class AreaRuleTest : public ::testing::Test {
 protected:
  AreaRuleTest() {
    gt_.image_ids = {1};
    gt_.category_ids = {3};
    gt_.image_sizes = {{kSize, kSize}};
    GtBox g;
    g.image_id = 1, g.category_id = 3;
    g.x = 10, g.y = 10, g.w = 10, g.h = 10, g.area = 100;
    g.mask = Rect(10, 10, 10, 10);
    gt_.boxes = {g};
  }

  // The two results as a file, with or without their bboxes.
  std::string Results(bool with_bbox) const {
    auto one = [&](const char* bbox, const masks::Rle& m, double score) {
      return absl::StrCat(R"({"image_id": 1, "category_id": 3, "score": )",
                          score, with_bbox ? R"(, "bbox": )" : "",
                          with_bbox ? bbox : "", R"(, "segmentation": )",
                          RleJson(m), "}");
    };
    return absl::StrCat(
        "[", one("[55, 55, 40, 40]", Rect(60, 60, 5, 4), 0.9), ", ",
        one("[10, 10, 10, 10]", Rect(10, 10, 10, 10), 0.5), "]");
  }

  EvalGroundTruth gt_;
};

constexpr int kAP = 0, kAPs = 3, kAPm = 4;

TEST_F(AreaRuleTest, ResultsWithABboxUseTheBoxAreaForMasks) {
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> dets,
                       ParseDetectionsJson(Results(true), "r.json", true));
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].area, 1600.0);
  ASSERT_OK_AND_ASSIGN(CocoEvalResult segm, EvaluateMasks(gt_, dets));
  EXPECT_DOUBLE_EQ(segm.stats[kAP], 0.5);
  EXPECT_DOUBLE_EQ(segm.stats[kAPs], 1.0);
  EXPECT_DOUBLE_EQ(segm.stats[kAPm], -1.0);
  // The mirror image: the same file scored as boxes, areas w * h.
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> as_boxes,
                       ParseDetectionsJson(Results(true), "r.json", false));
  ASSERT_OK_AND_ASSIGN(CocoEvalResult boxes, EvaluateBoxes(gt_, as_boxes));
  EXPECT_DOUBLE_EQ(boxes.stats[kAP], 0.5);
  EXPECT_DOUBLE_EQ(boxes.stats[kAPs], 1.0);
}

TEST_F(AreaRuleTest, ResultsWithoutABboxUseTheMaskArea) {
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> dets,
                       ParseDetectionsJson(Results(false), "r.json", true));
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].area, 20.0);
  ASSERT_OK_AND_ASSIGN(CocoEvalResult segm, EvaluateMasks(gt_, dets));
  EXPECT_DOUBLE_EQ(segm.stats[kAP], 0.5);
  EXPECT_DOUBLE_EQ(segm.stats[kAPs], 0.5);
  // Scored as boxes, a result without a bbox has its mask's box (toBbox)
  // and its mask's area, as the reference's loadRes sets them.
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> as_boxes,
                       ParseDetectionsJson(Results(false), "r.json", false));
  EXPECT_EQ(as_boxes[0].w, 5);
  EXPECT_EQ(as_boxes[0].h, 4);
  ASSERT_OK_AND_ASSIGN(CocoEvalResult boxes, EvaluateBoxes(gt_, as_boxes));
  EXPECT_DOUBLE_EQ(boxes.stats[kAP], 0.5);
  EXPECT_DOUBLE_EQ(boxes.stats[kAPs], 0.5);
}

TEST_F(AreaRuleTest, InMemoryDetectionsDefaultToTheBoxArea) {
  // What the eval stage evaluates and WriteResultsJson writes (every result
  // with its bbox): unset areas are w * h, the reference's on that file.
  ASSERT_OK_AND_ASSIGN(std::vector<Detection> dets,
                       ParseDetectionsJson(Results(true), "r.json", true));
  for (Detection& d : dets) d.area.reset();
  ASSERT_OK_AND_ASSIGN(CocoEvalResult segm, EvaluateMasks(gt_, dets));
  EXPECT_DOUBLE_EQ(segm.stats[kAPs], 1.0);
  dets[0].area = 20.0;
  ASSERT_OK_AND_ASSIGN(CocoEvalResult mask_area, EvaluateMasks(gt_, dets));
  EXPECT_DOUBLE_EQ(mask_area.stats[kAPs], 0.5);
  dets[0].area = -1.0;
  EXPECT_THAT(EvaluateMasks(gt_, dets).status().message(),
              HasSubstr("detection 0: area must be finite and >= 0"));
}

TEST(CocoEvalMasksTest, TheFirstResultDecidesTheFileForm) {
  const std::string mask = RleJson(Rect(0, 0, 2, 2));
  auto error = [](const std::string& json, bool with_masks) {
    auto r = ParseDetectionsJson(json, "r.json", with_masks);
    return r.ok() ? std::string("(parsed)") : std::string(r.status().message());
  };
  // A bbox first: every result needs one.
  EXPECT_EQ(error(absl::StrCat(
                      R"([{"image_id": 1, "category_id": 3, "score": 1,
                           "bbox": [0, 0, 2, 2], "segmentation": )",
                      mask, R"(}, {"image_id": 1, "category_id": 3,
                           "score": 1, "segmentation": )",
                      mask, "}]"),
                  true),
            "r.json: [1]: no \"bbox\" (the first result has one, so every "
            "result needs one: the reference's loadRes)");
  // No bbox first (an empty one counts as none): every result needs a
  // mask, boxes or not.
  EXPECT_EQ(error(R"([{"image_id": 1, "category_id": 3, "score": 1,
                       "bbox": []}])",
                  false),
            "r.json: [0]: no \"segmentation\" (the first result has no "
            "bbox, so every result needs a mask, whose area is its area: the "
            "reference's loadRes)");
  ASSERT_OK_AND_ASSIGN(
      std::vector<Detection> dets,
      ParseDetectionsJson(absl::StrCat(R"([{"image_id": 1, "category_id": 3,
          "score": 1, "bbox": [], "segmentation": )",
                                       mask, R"(}, {"image_id": 1,
          "category_id": 3, "score": 1, "bbox": [1, 1, 30, 30],
          "segmentation": )",
                                       mask, "}]"),
                          "r.json", false));
  EXPECT_EQ(dets[0].w, 2);     // toBbox of the mask
  EXPECT_EQ(dets[1].w, 30);    // a bbox given later is kept
  EXPECT_EQ(dets[1].area, 4);  // but the area is the mask's
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
