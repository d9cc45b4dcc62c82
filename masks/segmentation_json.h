// File: masks/segmentation_json.h
//
// A COCO "segmentation" JSON value (simdjson DOM) to masks::Segmentation,
// shared by the dataset reader (data/coco_dataset.h) and the evaluator's
// files (evaluation/coco_json.h). Strict: polygons are arrays of an even
// number of finite numbers; an RLE object has "size": [height, width]
// (non-negative integers) and "counts" (an array of run lengths summing to
// height * width, or a compressed string). Error messages start with the
// path inside the value, after `name`, e.g.
//   "segmentation[2][5]: expected a number, got string"
//   "segmentation.counts: counts sum to 12, size [3, 3] has 9 pixels"
#ifndef SNIPER_MASKS_SEGMENTATION_JSON_H_
#define SNIPER_MASKS_SEGMENTATION_JSON_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "masks/segmentation.h"
#include "simdjson.h"

namespace sniper::masks {

absl::StatusOr<Segmentation> ParseSegmentationJson(
    simdjson::dom::element value, absl::string_view name = "segmentation");

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_SEGMENTATION_JSON_H_
