// File: masks/roi_target.h
//
// Mask R-CNN's mask targets: the ground truth's mask inside a box (an RoI
// in image pixels), resampled to an M x M grid, without rasterising or
// decoding the whole image:
//   polygons  moved into the box's frame, scaled to M x M and rasterised
//             there with the reference's rule (masks/polygon.h), as the
//             reference Mask R-CNN implementations build polygon targets;
//   RLE       only the runs inside the box are decoded (DecodeCrop); each
//             cell takes the bilinear value of the pixels at its centre
//             (pixel centres at +0.5: RoIAlign with aligned = true and one
//             sample per cell), set when >= 0.5, as bitmask targets are.
// Costs O(polygon vertices + M^2) or O(runs before the box's last column +
// box pixels), whatever the image size.
#ifndef SNIPER_MASKS_ROI_TARGET_H_
#define SNIPER_MASKS_ROI_TARGET_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "masks/rle.h"
#include "masks/segmentation.h"

namespace sniper::masks {

// Box [x1, y1, x2, y2] in image pixels (continuous coordinates).
struct RoiBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// The pixels of `rle` in the region [x0, x0 + crop_width) x
// [y0, y0 + crop_height), row-major 0/1; the region is clipped to the
// image (pixels outside are 0).
std::vector<uint8_t> DecodeCrop(const Rle& rle, int32_t x0, int32_t y0,
                                int32_t crop_width, int32_t crop_height);

// The M x M target (row-major 0/1) of `segmentation` for `box` (polygons
// in the image's pixel coordinates, an RLE of its image's size). kNone
// gives all zeros.
std::vector<uint8_t> MaskTarget(const Segmentation& segmentation,
                                const RoiBox& box, int32_t m);

// Where a chip's pixels come from: chip pixel x (after undoing a
// horizontal flip, x -> window_width - x) is image pixel
// (x + offset_x) / scale, likewise y (continuous coordinates; the chip
// renderer's mapping, data/chip_render.h).
struct ChipFrame {
  double scale = 1.0;
  double offset_x = 0, offset_y = 0;  // the window's origin, scaled pixels
  bool flipped = false;
  double window_width = 0;  // scaled pixels
};

// The M x M target of `segmentation` (image pixels) for `roi` in chip
// pixels: the RoI mapped into the image, MaskTarget there, mirrored back
// when the chip is flipped. Exact whatever the chip's scale: no image-sized
// or chip-sized mask is built.
std::vector<uint8_t> ChipMaskTarget(const Segmentation& segmentation,
                                    const ChipFrame& frame, const RoiBox& roi,
                                    int32_t m);

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_ROI_TARGET_H_
