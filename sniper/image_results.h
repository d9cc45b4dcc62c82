// File: sniper/image_results.h
//
// One image's detections (inference/detector.h) as COCO results and as a
// picture, shared by the eval stage and //sniper:detect: boxes in the
// results format, masks (with the mask branch) pasted into the image as
// RLE (masks/paste.h), and drawings with translucent masks under the
// labelled boxes.
#ifndef SNIPER_SNIPER_IMAGE_RESULTS_H_
#define SNIPER_SNIPER_IMAGE_RESULTS_H_

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "autofocus/focus_trace.h"
#include "data/coco_dataset.h"
#include "data/image_io.h"
#include "evaluation/coco_eval.h"
#include "inference/merge.h"

namespace sniper {

// `d`'s detections of `image` as results (category ids from
// `categories`, indexed by label), appended to `out`; each with its mask
// at the image's size when `d` has masks.
void AppendCocoDetections(const inference::ImageDetections& d,
                          const data::CocoImage& image,
                          absl::Span<const data::CocoCategory> categories,
                          std::vector<evaluation::Detection>* out);

// Draws `dets` of one image scoring at least `threshold`: masks first
// (translucent, class colours), then boxes with "name 0.93" labels.
// Returns how many were drawn.
int DrawCocoDetections(data::RgbImage* image,
                       absl::Span<const evaluation::Detection> dets,
                       absl::Span<const data::CocoCategory> categories,
                       float threshold);

// The picture of what AutoFocus did on one image (its trace, coarse to
// fine; `stride`: the focus map's cell in scaled pixels): one panel per
// scale, the map tinted red, the windows it ran in white and the
// FocusChips it gave the next scale yellow, all in original pixels, with a
// caption (viz/overlay_panels.h draws it).
data::RgbImage DrawFocusTrace(const data::RgbImage& original,
                              const std::vector<autofocus::FocusStep>& trace,
                              int stride);

}  // namespace sniper

#endif  // SNIPER_SNIPER_IMAGE_RESULTS_H_
