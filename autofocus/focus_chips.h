// File: autofocus/focus_chips.h
//
// AutoFocus's FocusChips (../shared/docs/AUTOFOCUS.md, "Inference"): from
// one scale's focus map (a probability per stride-16 cell that a small
// object sits there) to the rectangles, in cells, where the next, finer
// scale runs:
//   1. threshold the probabilities (>= threshold);
//   2. dilate with a d x d square (d odd; d = 1: none);
//   3. connected components, 8-connected (a diagonal neighbour joins, as
//      scikit-image's default the reference uses) -> bounding rectangles,
//      each grown to at least min_size x min_size cells around its centre
//      and shifted to stay inside the map (the whole map when it is
//      smaller);
//   4. rectangles that overlap are replaced by their union until none do.
// Torch-free: the inference code maps cells to pixels (x stride, then the
// scale ratio) and runs the detector inside them.
//
//   FocusChipOptions o{.threshold = 0.02, .dilation = 3, .min_size = 16};
//   std::vector<CellRect> chips = FocusChips(map, o);
#ifndef SNIPER_AUTOFOCUS_FOCUS_CHIPS_H_
#define SNIPER_AUTOFOCUS_FOCUS_CHIPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sniper::autofocus {

// Probabilities per cell, row-major, width x height.
struct FocusMap {
  int32_t width = 0;
  int32_t height = 0;
  std::vector<float> prob;

  float at(int32_t x, int32_t y) const {
    return prob[static_cast<size_t>(y) * width + x];
  }
};

// Cells [x1, x2) x [y1, y2).
struct CellRect {
  int32_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;

  int64_t area() const { return int64_t{x2 - x1} * (y2 - y1); }
  bool Overlaps(const CellRect& o) const {
    return x1 < o.x2 && o.x1 < x2 && y1 < o.y2 && o.y1 < y2;
  }
  bool operator==(const CellRect& o) const {
    return x1 == o.x1 && y1 == o.y1 && x2 == o.x2 && y2 == o.y2;
  }
};

struct FocusChipOptions {
  double threshold = 0.5;  // in [0, 1]
  int32_t dilation = 3;    // d: odd, >= 1
  int32_t min_size = 16;   // k: cells, >= 1
};

// InvalidArgument naming `path`'s field and the rule.
absl::Status ValidateFocusChipOptions(const FocusChipOptions& options,
                                      const std::string& path);

// The FocusChips of `map`, sorted by (y1, x1); none when no cell passes the
// threshold. `options` must be valid; `map.prob` has width * height values.
std::vector<CellRect> FocusChips(const FocusMap& map,
                                 const FocusChipOptions& options);

// Pixel boxes [x1, y1, x2, y2) of the chip and a detection in it, and the
// image's size at that scale.
struct PixelBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// Max-combines `piece`, the focus map of a window whose top-left corner is
// at pixel (x, y) of the scaled image, into `image_map` (the whole scaled
// image's map, cells of `stride` pixels): each piece cell goes to the image
// cell holding its centre; cells outside the image are dropped. The
// windows of one scale (tiles, or the FocusChips it ran in) make the
// scale's map; cells no window saw stay as they were (0: nothing there).
void PasteFocusMap(const FocusMap& piece, int32_t x, int32_t y, int32_t stride,
                   FocusMap* image_map);

// The pixels [x1, x2) x [y1, y2), integers, of `rect` (cells of `stride`
// pixels of an image at scale `from_scale`) at scale `to_scale` of the
// same image, rounded outwards and clipped to that scale's
// to_width x to_height image (empty if nothing is left).
PixelBox CellsAtScale(const CellRect& rect, int32_t stride, double from_scale,
                      double to_scale, int32_t to_width, int32_t to_height);

// AutoFocus's border rule: a detection that comes within `margin` pixels
// of a chip side that is not on the image's border was cut by the chip (a
// whole version comes from another scale): drop it.
bool CutByChipBorder(const PixelBox& detection, const PixelBox& chip,
                     double image_width, double image_height, double margin);

}  // namespace sniper::autofocus

#endif  // SNIPER_AUTOFOCUS_FOCUS_CHIPS_H_
