// File: evaluation/coco_eval.h
//
// COCO box and mask evaluation with the reference COCO API's semantics
// (pycocotools COCOeval, iouType "bbox" and "segm"):
//   - categories: every category of the ground truth; images: every image
//     of the ground truth (detections for other images are an error);
//   - per image and category, detections sorted by score (stable), at most
//     maxDets[-1] = 100 of them; ground truth sorted non-ignored first;
//   - ignore = iscrowd; area ranges on the annotation's `area` (all, small
//     < 32^2, medium, large >= 96^2, bounds inclusive as in the reference);
//     crowd ground truth matches with IoA (intersection over the detection's
//     area) and can match several detections; a detection matched to an
//     ignored ground truth, or unmatched and outside the area range, is
//     ignored;
//   - 10 IoU thresholds 0.50:0.05:0.95 and 101 recall points computed the
//     way numpy.linspace computes them; greedy matching per threshold;
//   - precision made monotone, sampled at the recall points (searchsorted,
//     side left); categories without non-ignored ground truth are -1 and
//     excluded from the means; a mean over nothing is -1;
//   - the 12 summary numbers in the reference order;
//   - a detection's area for the area ranges is its `area` as the
//     reference's loadRes sets it (Detection::area; w * h when unset, the
//     ground truth's is the annotation's `area` field), for boxes and masks
//     alike: with masks, that is the box's area when the results carry a
//     bbox and the mask's area only when they do not (coco_json.h);
//   - segm: IoU of the masks (masks/rle.h: run-length arithmetic, never
//     dense pixels; crowd regions by IoA; 0 when the masks' tight boxes do
//     not overlap, as the reference's pre-check).
// One deliberate difference: the reference marks a detection as matched by
// storing the ground truth's id, so an annotation with id 0 never counts as
// a match; here a match is a match whatever the id.
//
// Torch-free; the whole evaluation of a COCO-val-sized workload runs in a
// fraction of a second.
#ifndef SNIPER_EVALUATION_COCO_EVAL_H_
#define SNIPER_EVALUATION_COCO_EVAL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/coco_dataset.h"
#include "masks/rle.h"

namespace sniper::evaluation {

struct GtBox {
  int64_t image_id = 0;
  int64_t category_id = 0;
  double x = 0, y = 0, w = 0, h = 0;
  double area = 0;  // the annotation's area field (segment area on COCO)
  bool iscrowd = false;
  masks::Rle mask;  // segm: the annotation's mask (annToRLE)
};

struct EvalGroundTruth {
  std::vector<int64_t> image_ids;     // every image, any order
  std::vector<int64_t> category_ids;  // every category, any order
  std::vector<GtBox> boxes;
  // {height, width} parallel to image_ids, when known (segm: a detection's
  // mask must have its image's size); may be empty.
  std::vector<std::array<int32_t, 2>> image_sizes;
};

// From a dataset read by data/coco_dataset.h. The reader keeps boxes as
// float (clipped to the image within its tolerance) and no area field, so
// the area is w * h: exact for datasets whose area is the box area (the
// synthetic one); COCO's segment areas need the raw annotation file.
EvalGroundTruth GroundTruthFromDataset(const data::CocoDataset& dataset);

// Keeps only the images `image_ids` of `gt` (and their sizes and boxes),
// in gt's order; ids not in gt are not added.
void KeepImages(absl::Span<const int64_t> image_ids, EvalGroundTruth* gt);

struct Detection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  double x = 0, y = 0, w = 0, h = 0;
  double score = 0;
  masks::Rle mask;  // segm: the detection's mask at its image's size
  // The result's `area`, which decides whether an unmatched detection is
  // ignored in the small/medium/large ranges, as the reference's loadRes
  // sets it: ReadDetectionsJson fills it (w * h when the file's results
  // carry a bbox, the mask's area when they do not). Unset: w * h, which is
  // what the reference computes for a file written by WriteResultsJson
  // (every result has a bbox), so in-process numbers equal the reference's
  // on that file, masks included.
  std::optional<double> area;

  double AreaForRanges() const { return area.value_or(w * h); }
};

struct CocoEvalResult {
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.
  std::array<double, 12> stats{};
  // AP (IoU 0.50:0.95, all areas, 100 dets) per category id, -1 without
  // ground truth; in the order of EvalGroundTruth::category_ids sorted.
  std::vector<std::pair<int64_t, double>> per_category_ap;
  int64_t num_images = 0;
  int64_t num_detections = 0;
};

// Validates the inputs (unknown images or categories, non-finite values,
// negative sizes; errors name the detection's index) and evaluates.
absl::StatusOr<CocoEvalResult> EvaluateBoxes(const EvalGroundTruth& gt,
                                             absl::Span<const Detection> dets);
// iouType "segm": every ground truth box and detection needs its mask (a
// valid RLE, of its image's size where image_sizes are known).
absl::StatusOr<CocoEvalResult> EvaluateMasks(const EvalGroundTruth& gt,
                                             absl::Span<const Detection> dets);

// The 12 stats' short names, in CocoEvalResult::stats' order (TensorBoard
// tags, log keys).
inline constexpr const char* kCocoStatNames[12] = {
    "AP",  "AP50", "AP75",  "APs", "APm", "APl",
    "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

// The headline line of the first six stats, prefixed with `what`:
//   "<what>AP 0.593  AP50 0.912  AP75 0.651  APs 0.420  APm 0.612  APl 0.700"
// Empty unless `stats` holds the 12 numbers.
std::string FormatCocoSummary(absl::Span<const double> stats,
                              absl::string_view what = "");

// The 12 lines the reference prints, e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] =
// 0.372"
std::string FormatCocoStats(const std::array<double, 12>& stats);

// Detections as the standard results JSON
// [{"image_id", "category_id", "bbox": [x, y, w, h], "score"}], with
// "segmentation": {"size": [h, w], "counts": "<compressed>"} for those
// with a mask, written atomically, numbers with 17 significant digits
// (they read back exactly).
absl::Status WriteResultsJson(const std::string& path,
                              absl::Span<const Detection> dets);

}  // namespace sniper::evaluation

#endif  // SNIPER_EVALUATION_COCO_EVAL_H_
