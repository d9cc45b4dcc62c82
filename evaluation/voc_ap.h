// File: evaluation/voc_ap.h
//
// Pascal VOC's detection metric beside COCO's: per category, average
// precision at one IoU threshold (0.5: "AP50" as VOC reports it), over all
// detections (no per-image cap), with ignore regions (VOC's difficult
// objects, COCO's crowd boxes) neither true nor false positives, and the
// mean over categories that have ground truth.
//
// As VOC's devkit: detections of a category in descending score (ties keep
// their order); each is matched to the ground-truth box of its image and
// category with the highest IoU; at or above the threshold it is a true
// positive if that box is not yet matched and not an ignore region, ignored
// if it is an ignore region, else a false positive (a duplicate). AP is the
// area under the precision envelope (VOC2010 on, all points) or the mean
// of the envelope at recall 0, 0.1, ..., 1 (VOC2007). IoU is computed in
// continuous coordinates, as everywhere else here (VOC's devkit adds one
// pixel to widths: its IoUs of small boxes are slightly higher).
#ifndef SNIPER_EVALUATION_VOC_AP_H_
#define SNIPER_EVALUATION_VOC_AP_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "evaluation/coco_eval.h"

namespace sniper::evaluation {

enum class VocApMetric {
  kAllPoints,     // VOC2010 and later
  kElevenPoints,  // VOC2007
};

struct VocApResult {
  double mean_ap = 0;  // over categories with ground truth; -1 if none
  // Per category id (sorted), -1 for a category without ground truth
  // (only ignore regions, or none).
  std::vector<std::pair<int64_t, double>> per_category_ap;
};

// Detections naming an image or category absent from `gt`, or with
// non-finite values, are an error naming the detection's index.
absl::StatusOr<VocApResult> EvaluateVocAp(
    const EvalGroundTruth& gt, absl::Span<const Detection> dets,
    double iou_threshold = 0.5, VocApMetric metric = VocApMetric::kAllPoints);

// AP of one precision/recall curve (recall non-decreasing), as above.
double VocAveragePrecision(absl::Span<const double> recall,
                           absl::Span<const double> precision,
                           VocApMetric metric);

}  // namespace sniper::evaluation

#endif  // SNIPER_EVALUATION_VOC_AP_H_
