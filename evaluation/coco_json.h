// File: evaluation/coco_json.h
//
// The evaluator's inputs from files, read the way the reference COCO API
// reads them: numbers as float64, boxes exactly as written (no clipping),
// the annotation's `area` field (a crowd's or segment's area on COCO, not
// w*h), `iscrowd` defaulting to 0. Errors name the file and the JSON path
// (e.g. "results.json: [12].score: expected a number, got string").
#ifndef SNIPER_EVALUATION_COCO_JSON_H_
#define SNIPER_EVALUATION_COCO_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "evaluation/coco_eval.h"

namespace sniper::evaluation {

// An instances JSON: "images" (ids; height and width when every image has
// them), "categories" (ids), "annotations" (image_id, category_id, bbox,
// area (w*h when absent), iscrowd). `with_masks` (segm): every image needs
// its size and every annotation its "segmentation", turned into its mask as
// the reference's annToRLE (masks/segmentation.h).
absl::StatusOr<EvalGroundTruth> ReadGroundTruthJson(const std::string& path,
                                                    bool with_masks = false);
// The same from the document's bytes; `source` names it in errors.
absl::StatusOr<EvalGroundTruth> ParseGroundTruthJson(absl::string_view json,
                                                     const std::string& source,
                                                     bool with_masks = false);

// A results JSON: [{"image_id", "category_id", "bbox": [x, y, w, h],
// "score", "segmentation"}, ...], other fields ignored, read as the
// reference's loadRes reads it. The first result decides for all:
//   - it has a "bbox" (not []): every result needs a bbox, and its `area`
//     (Detection::area, which decides the small/medium/large ranges of an
//     unmatched detection) is w * h, masks or not; `with_masks` (segm):
//     every result also needs a "segmentation" as an RLE (compressed or
//     not); otherwise segmentations are not read;
//   - else every result needs a "segmentation" as an RLE; its area is the
//     mask's, and a result without a bbox gets the mask's tight box (toBbox),
//     for box evaluation too.
// Where the reference would rasterise a polygon or a missing segmentation
// (the bbox as a polygon) at the image's size, this is an error. An empty
// file is no detections (the reference fails on it).
absl::StatusOr<std::vector<Detection>> ReadDetectionsJson(
    const std::string& path, bool with_masks = false);
absl::StatusOr<std::vector<Detection>> ParseDetectionsJson(
    absl::string_view json, const std::string& source, bool with_masks = false);

}  // namespace sniper::evaluation

#endif  // SNIPER_EVALUATION_COCO_JSON_H_
