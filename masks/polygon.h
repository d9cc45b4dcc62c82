// File: masks/polygon.h
//
// Polygons to RLE with the reference COCO API's rasterisation (maskApi's
// rleFrPoly), so that ground-truth masks, their areas and IoUs are the
// reference's to the pixel.
//
// The rule, in words: vertices are rounded to a grid 5x finer than the
// pixels; each edge is traced on that grid one step at a time along its
// major axis (rounding the minor coordinate); wherever the traced boundary
// crosses a pixel column's centre line (x = column + 0.5 - 0.5, i.e. fine
// x = 5 * column + 2), the pixel rows from the crossing's rounded-up y
// downwards toggle inside/outside. Pixel (x, y) is thus set when its centre
// column's crossings above it are odd: close to "the pixel centre lies
// inside the polygon", decided on the fine grid. Polygons may be
// self-intersecting (even-odd) and extend past the image (clipped).
//
//   Rle m = RleFromPolygon({x0, y0, x1, y1, x2, y2}, height, width);
// (An annotation's polygons, united: masks/segmentation.h.)
#ifndef SNIPER_MASKS_POLYGON_H_
#define SNIPER_MASKS_POLYGON_H_

#include <cstdint>

#include "absl/types/span.h"
#include "masks/rle.h"

namespace sniper::masks {

// xy: x0, y0, x1, y1, ... in pixel coordinates of an image of
// height x width (a trailing odd coordinate is ignored, as the reference
// does). Fewer than 3 vertices give the reference's degenerate masks.
Rle RleFromPolygon(absl::Span<const double> xy, int32_t height, int32_t width);

// The reference's frBbox: box [x, y, w, h] as the polygon of its corners.
Rle RleFromBox(double x, double y, double w, double h, int32_t height,
               int32_t width);

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_POLYGON_H_
