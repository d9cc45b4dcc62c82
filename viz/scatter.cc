#include "viz/scatter.h"

#include <algorithm>
#include <cmath>

#include "viz/axes.h"

namespace sniper::viz {

Marker MarkerAt(int i) {
  return static_cast<Marker>(((i % kNumMarkers) + kNumMarkers) % kNumMarkers);
}

void DrawMarker(Canvas& c, Marker marker, double x, double y, double size,
                Color color) {
  const double r = size / 2;
  switch (marker) {
    case Marker::kCircle:
      c.Circle(x, y, r, color);
      break;
    case Marker::kSquare:
      c.FillRect(x - r * 0.85, y - r * 0.85, x + r * 0.85, y + r * 0.85, color);
      break;
    case Marker::kTriangle:
      c.FillPolygon({{x, y - r}, {x + r, y + r * 0.8}, {x - r, y + r * 0.8}},
                    color);
      break;
    case Marker::kTriangleDown:
      c.FillPolygon({{x, y + r}, {x + r, y - r * 0.8}, {x - r, y - r * 0.8}},
                    color);
      break;
    case Marker::kDiamond:
      c.FillPolygon({{x, y - r}, {x + r, y}, {x, y + r}, {x - r, y}}, color);
      break;
    case Marker::kPlus:
      c.Line(x - r, y, x + r, y, color, 2.5);
      c.Line(x, y - r, x, y + r, color, 2.5);
      break;
    case Marker::kCross:
      c.Line(x - r * 0.8, y - r * 0.8, x + r * 0.8, y + r * 0.8, color, 2.5);
      c.Line(x - r * 0.8, y + r * 0.8, x + r * 0.8, y - r * 0.8, color, 2.5);
      break;
  }
}

data::RgbImage PlotScatter(absl::string_view title, absl::string_view x_label,
                           absl::string_view y_label,
                           const std::vector<ScatterSeries>& series, int width,
                           int height, bool log_x) {
  Canvas c(width, height, {255, 255, 255});
  Canvas::TextStyle legend_style;
  legend_style.size = 12;
  AxesSpec spec;
  spec.title = std::string(title);
  spec.x_label = std::string(x_label);
  spec.y_label = std::string(y_label);
  spec.log_x = log_x;
  spec.x_pad = 0.06;
  spec.y_pad = 0.08;
  // Points in plotted values (log10 of x on a log axis).
  PlottedPoints points;
  for (const ScatterSeries& s : series) {
    points.emplace_back();
    for (const auto& [x, y] : s.points) {
      if (std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0)) {
        points.back().push_back({log_x ? std::log10(x) : x, y});
      }
    }
    spec.legend_width =
        std::max(spec.legend_width, c.TextWidth(s.name, legend_style));
  }
  const Axes axes = DrawAxes(c, spec, points);
  if (axes.right <= axes.left) return c.Image();
  double legend_y = axes.legend_y();
  for (size_t k = 0; k < series.size(); ++k) {
    const ScatterSeries& s = series[k];
    for (const auto& [x, y] : points[k]) {
      DrawMarker(c, s.marker, axes.X(x), axes.Y(y), 11, s.color);
    }
    DrawMarker(c, s.marker, axes.legend_x() + 8, legend_y - 4, 11, s.color);
    c.Text(axes.legend_x() + 22, legend_y, s.name, kInk, legend_style);
    legend_y += 20;
  }
  return c.Image();
}

}  // namespace sniper::viz
