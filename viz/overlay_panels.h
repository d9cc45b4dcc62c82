// File: viz/overlay_panels.h
//
// Panels of one image side by side, each with a heat grid tinted red, thin
// white and thick yellow rectangles and a caption: the AutoFocus picture
// (//sniper:detect --autofocus_map; sniper/image_results.h turns AutoFocus's
// trace into panels). Plain data in, pixels out.
//
//   OverlayPanel p;
//   p.heat = {7, 4, probabilities, /*scale=*/0.5, /*cell=*/16};
//   p.thin = {{0, 0, 200, 100}};
//   p.caption = "scale 1 (x0.50): 1 windows";
//   data::RgbImage picture = DrawOverlayPanels(image, {p});
#ifndef SNIPER_VIZ_OVERLAY_PANELS_H_
#define SNIPER_VIZ_OVERLAY_PANELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace sniper::viz {

// Values in [0, 1] on a grid over the image: original pixel (x, y) lies in
// cell (floor(x * scale) / cell, floor(y * scale) / cell).
struct HeatGrid {
  int32_t width = 0, height = 0;
  std::vector<float> values;  // row-major; empty: no tint
  double scale = 1;
  int32_t cell = 16;
};

// [x1, x2) x [y1, y2), original pixels (fractions allowed).
struct PanelRect {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct OverlayPanel {
  HeatGrid heat;                 // tinted red, opacity 0.65 x value
  std::vector<PanelRect> thin;   // white outlines
  std::vector<PanelRect> thick;  // yellow outlines, twice as thick
  std::string caption;           // top-left, black on white
};

// One copy of `original` per panel, 8 white pixels apart; `original` itself
// without panels. Outlines are max(1, longer side / 400) pixels thick.
data::RgbImage DrawOverlayPanels(const data::RgbImage& original,
                                 const std::vector<OverlayPanel>& panels);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_OVERLAY_PANELS_H_
