// File: viz/plot.h
//
// Line charts for the trainer's loss curves (torch-free; drawn with cairo,
// viz/canvas.h): round axis ticks (1-2-5 steps; decades on a log axis,
// labelled as such), a title, a legend right of the axes (never over a
// line), long series smoothed (an exponential moving average) with their
// raw values faint behind, panels stacked into one picture.
//
//   std::vector<Series> s = {{"loss", PaletteColor(0), {{10, 1.2}, ...}}};
//   data::RgbImage chart = PlotSeries("detector loss", "step", s, 1000, 420,
//                                     /*log_y=*/true);
#ifndef SNIPER_VIZ_PLOT_H_
#define SNIPER_VIZ_PLOT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"
#include "viz/axes.h"
#include "viz/draw.h"

namespace sniper::viz {

struct Series {
  std::string name;
  Color color;
  std::vector<std::pair<double, double>> points;  // (x, y), any order of x
};

// A line chart: white background, axes with round ticks (LinearTicks; a
// log_y axis LogTicks), the title on top, a legend with each series' name
// right of the axes; non-finite points are left out. `log_y` plots
// log10(y) for y > 0. A series of 20 points or more is drawn smoothed over
// about a twentieth of its points, its raw values faint behind.
data::RgbImage PlotSeries(absl::string_view title, absl::string_view x_label,
                          const std::vector<Series>& series, int width,
                          int height, bool log_y = false);

// Stacks images vertically (widths may differ; padded white).
data::RgbImage StackVertically(const std::vector<data::RgbImage>& images);
// Side by side with `gap` pixels between them (heights may differ; padded
// with `background`).
data::RgbImage StackHorizontally(const std::vector<data::RgbImage>& images,
                                 int gap, Color background);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_PLOT_H_
