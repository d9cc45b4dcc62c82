// File: sniper/plot.h
//
// Small raster drawing for the trainer's pictures (torch-free): lines,
// rectangles, a 3x5 pixel font (upper-case letters, digits, common
// punctuation; lower case is drawn as upper case), and line charts with
// axes, ticks and a legend (the loss curve).
#ifndef SNIPER_SNIPER_PLOT_H_
#define SNIPER_SNIPER_PLOT_H_

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"

namespace sniper {

using Color = std::array<uint8_t, 3>;

// Distinct colours for classes and series.
Color PaletteColor(int i);

void FillRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color);  // [x1, x2) x [y1, y2), clipped
void DrawLine(data::RgbImage* image, int x0, int y0, int x1, int y1,
              Color color);
void DrawRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color, int thickness);
// Text with its top-left corner at (x, y); glyphs are 3x5 cells scaled by
// `scale` with one cell of spacing. Returns the width drawn.
int DrawText(data::RgbImage* image, int x, int y, absl::string_view text,
             Color color, int scale = 2);
int TextWidth(absl::string_view text, int scale = 2);
// Text on a filled background box (labels over pictures).
void DrawLabel(data::RgbImage* image, int x, int y, absl::string_view text,
               Color background, Color foreground, int scale = 2);

// A detection to draw: corners in the image's pixels, its score and label.
struct LabeledBox {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int label = 0;
};

// Draws the boxes scoring at least `threshold` (best on top) in their
// class colours with "NAME 0.93" labels; `names[label]` names a class
// (a missing name prints the label number). Returns how many were drawn.
int DrawLabeledBoxes(data::RgbImage* image,
                     const std::vector<LabeledBox>& boxes,
                     const std::vector<std::string>& names, float threshold);

struct Series {
  std::string name;
  Color color;
  std::vector<std::pair<double, double>> points;  // (x, y), any order of x
};

// A line chart: white background, axes with 5 labelled ticks each, the
// title on top, a legend with each series' name; non-finite points are
// left out. `log_y` plots log10(y) for y > 0.
data::RgbImage PlotSeries(absl::string_view title, absl::string_view x_label,
                          const std::vector<Series>& series, int width,
                          int height, bool log_y = false);

// Stacks images vertically (widths may differ; padded white).
data::RgbImage StackVertically(const std::vector<data::RgbImage>& images);

}  // namespace sniper

#endif  // SNIPER_SNIPER_PLOT_H_
