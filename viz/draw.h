// File: viz/draw.h
//
// Drawing for the project's pictures (torch-free; lines and text through
// cairo, viz/canvas.h): filled and outlined rectangles, antialiased lines,
// text in a real font, labels on a background, masks blended in, and
// detections with "name 0.93" labels in class colours. Everything clips to
// the image.
//
//   data::RgbImage im = Blank(640, 480);
//   DrawRect(&im, 10, 10, 99, 59, PaletteColor(0), /*thickness=*/2);
//   DrawLabel(&im, 10, 0, "person 0.93", PaletteColor(0), {255, 255, 255});
#ifndef SNIPER_VIZ_DRAW_H_
#define SNIPER_VIZ_DRAW_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"
#include "viz/canvas.h"

namespace sniper::viz {

// Color: std::array<uint8_t, 3> (viz/canvas.h).

// Distinct colours for classes and series.
Color PaletteColor(int i);

// A `width` x `height` image filled with `fill`.
data::RgbImage Blank(int width, int height, Color fill = {255, 255, 255});

void FillRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color);  // [x1, x2) x [y1, y2), clipped
void DrawLine(data::RgbImage* image, int x0, int y0, int x1, int y1,
              Color color);
// The outline of [x1, x2] x [y1, y2] (inclusive corners), growing outwards
// to `thickness` pixels.
void DrawRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color, int thickness);
// Text (DejaVu Sans, 6.5 x `scale` pixels per em, antialiased) with the
// top of its capitals at y, starting at x. Returns the width drawn.
int DrawText(data::RgbImage* image, int x, int y, absl::string_view text,
             Color color, int scale = 2);
int TextWidth(absl::string_view text, int scale = 2);
// Capitals plus descenders at `scale`: the height a line of text needs.
int TextHeight(int scale = 2);
// Text on a filled background box (labels over pictures).
void DrawLabel(data::RgbImage* image, int x, int y, absl::string_view text,
               Color background, Color foreground, int scale = 2);

// Tints the pixels set in `mask` (row-major 0/1, the image's size;
// another size draws nothing) towards `color`: out = (1 - alpha) * in +
// alpha * color. Returns the pixels tinted.
int BlendMask(data::RgbImage* image, const std::vector<uint8_t>& mask,
              Color color, float alpha = 0.5f);

// A detection to draw: corners in the image's pixels, its score and label.
struct LabeledBox {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int label = 0;
};

// Draws the boxes scoring at least `threshold` (best on top) in their
// class colours with "name 0.93" labels; `names[label]` names a class
// (a missing name prints the label number). Returns how many were drawn.
int DrawLabeledBoxes(data::RgbImage* image,
                     const std::vector<LabeledBox>& boxes,
                     const std::vector<std::string>& names, float threshold);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_DRAW_H_
