// File: masks/paste.h
//
// A predicted mask back into its image (Mask R-CNN inference): an M x M
// grid of probabilities over a box, resampled bilinearly at the centres of
// the image pixels the box covers and thresholded. Only the box's pixels
// are visited; the result is an RLE of the whole image (what the COCO
// results format and the segm evaluator take).
#ifndef SNIPER_MASKS_PASTE_H_
#define SNIPER_MASKS_PASTE_H_

#include <cstdint>

#include "absl/types/span.h"
#include "masks/rle.h"
#include "masks/roi_target.h"

namespace sniper::masks {

// `probabilities`: M x M, row-major, over `box` (image pixels, continuous:
// cell (i, j) is centred at box.x1 + (j + 0.5) * w / M, likewise y). A
// pixel whose centre lies inside the box takes the bilinear value at its
// centre (clamped to the outer cells' centres) and is set when that is
// >= threshold; pixels outside the box are clear. The box is clipped to
// the height x width image.
Rle PasteMask(absl::Span<const float> probabilities, int32_t m,
              const RoiBox& box, int32_t height, int32_t width,
              float threshold = 0.5f);

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_PASTE_H_
