// File: viz/scatter.h
//
// Scatter plots (torch-free, cairo through viz/canvas.h): one marker per
// point, a marker shape and colour per series, on viz/axes.h's frame
// (round ticks, optional log x axis) with the legend beside the axes.
// What //tools:experiment draws: AP against pixels and speed, one point
// per run.
//
//   std::vector<ScatterSeries> s = {
//       {"sniper", PaletteColor(0), Marker::kCircle, {{264e3, 0.593}}}};
//   data::RgbImage chart = PlotScatter("AP vs pixels", "pixels / image",
//                                      "AP", s, 640, 420, /*log_x=*/true);
#ifndef SNIPER_VIZ_SCATTER_H_
#define SNIPER_VIZ_SCATTER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"
#include "viz/canvas.h"

namespace sniper::viz {

enum class Marker {
  kCircle,
  kSquare,
  kTriangle,
  kDiamond,
  kTriangleDown,
  kPlus,
  kCross,
};
inline constexpr int kNumMarkers = 7;

// The i-th marker, cycling.
Marker MarkerAt(int i);

// A filled marker (kPlus, kCross: strokes) of about `size` pixels across,
// centred at (x, y).
void DrawMarker(Canvas& c, Marker marker, double x, double y, double size,
                Color color);

struct ScatterSeries {
  std::string name;
  Color color;
  Marker marker = Marker::kCircle;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

// Every finite point (x > 0 on a log axis) as its series' marker; the
// legend right of the axes shows each series' marker and name.
data::RgbImage PlotScatter(absl::string_view title, absl::string_view x_label,
                           absl::string_view y_label,
                           const std::vector<ScatterSeries>& series, int width,
                           int height, bool log_x = false);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_SCATTER_H_
