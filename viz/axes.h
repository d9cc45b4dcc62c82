// File: viz/axes.h
//
// The frame every chart of viz/ draws its data in (plot.h's line charts,
// scatter.h's scatter plots): title, grid and round ticks (1-2-5 steps;
// decades on a log axis, labelled "log scale"), axis labels, the axes'
// outline, and room for a legend right of the axes so that it never covers
// the data. Coordinates inside are "plotted" values: log10 of the data on
// a log axis.
//
//   AxesSpec spec{"detector loss", "step", ""};
//   spec.log_y = true;
//   const Axes axes = DrawAxes(canvas, spec, x_lo, x_hi, y_lo, y_hi);
//   canvas.Line(axes.X(x0), axes.Y(std::log10(y0)), ...);
#ifndef SNIPER_VIZ_AXES_H_
#define SNIPER_VIZ_AXES_H_

#include <string>
#include <utility>
#include <vector>

#include "viz/canvas.h"

namespace sniper::viz {

// Tick values in [lo, hi]: multiples of a 1, 2 or 5 times 10^k step, about
// `target` of them (empty for an empty or non-finite range).
std::vector<double> LinearTicks(double lo, double hi, int target);
// Tick values in [lo, hi] (0 < lo) for a log axis: the powers of ten, or
// where fewer than two fit, 1-2-5 (then 1..9) times them, else LinearTicks.
std::vector<double> LogTicks(double lo, double hi);

inline constexpr Color kInk = {30, 30, 30};

struct AxesSpec {
  std::string title;
  std::string x_label;
  std::string y_label;  // drawn upwards left of the y ticks; may be empty
  bool log_x = false;
  bool log_y = false;
  double legend_width = 0;  // the widest legend entry's text; 0: no legend
  // Fraction of the y range added above and below (x: none unless set).
  double y_pad = 0.05;
  double x_pad = 0;
};

struct Axes {
  double left = 0, right = 0, top = 0, bottom = 0;  // pixels
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;    // plotted values
  double X(double x) const {
    return left + (x - x_lo) / (x_hi - x_lo) * (right - left);
  }
  double Y(double y) const {
    return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top);
  }
  // Where the legend's first entry goes (its line's left end, baseline).
  double legend_x() const { return right + 16; }
  double legend_y() const { return top + 14; }
};

// Plotted (x, y) points, per series.
using PlottedPoints = std::vector<std::vector<std::pair<double, double>>>;

// Draws the frame around every point of `points` (plotted values; the
// range widened when empty, padded per spec) and returns it. With no
// point, draws "no data" and returns empty axes (right <= left).
Axes DrawAxes(Canvas& c, const AxesSpec& spec, const PlottedPoints& points);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_AXES_H_
