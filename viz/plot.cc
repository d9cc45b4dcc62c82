#include "viz/plot.h"

#include <algorithm>
#include <cmath>

#include "viz/canvas.h"

namespace sniper::viz {
namespace {

// (x, y) points of `s` that can be drawn, in increasing x.
std::vector<std::pair<double, double>> Usable(const Series& s, bool log_y) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& [x, y] : s.points) {
    if (std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0)) {
      pts.push_back({x, log_y ? std::log10(y) : y});
    }
  }
  std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  return pts;
}

// Exponential moving average over the points (in the plotted space), with
// a span of about a twentieth of the points; fewer than 20 points as they
// are.
std::vector<std::pair<double, double>> Smoothed(
    const std::vector<std::pair<double, double>>& pts) {
  if (pts.size() < 20) return pts;
  const double alpha = 2.0 / (pts.size() / 20.0 + 1);
  std::vector<std::pair<double, double>> out = pts;
  for (size_t i = 1; i < out.size(); ++i) {
    out[i].second = alpha * pts[i].second + (1 - alpha) * out[i - 1].second;
  }
  return out;
}

}  // namespace

data::RgbImage PlotSeries(absl::string_view title, absl::string_view x_label,
                          const std::vector<Series>& series, int width,
                          int height, bool log_y) {
  Canvas c(width, height, {255, 255, 255});
  Canvas::TextStyle legend_style;
  legend_style.size = 12;
  PlottedPoints points;
  AxesSpec spec;
  spec.title = std::string(title);
  spec.x_label = std::string(x_label);
  spec.log_y = log_y;
  for (const Series& s : series) {
    points.push_back(Usable(s, log_y));
    spec.legend_width =
        std::max(spec.legend_width, c.TextWidth(s.name, legend_style));
  }
  const Axes axes = DrawAxes(c, spec, points);
  if (axes.right <= axes.left) return c.Image();
  double legend_y = axes.legend_y();
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::vector<std::pair<double, double>> raw;
    for (const auto& [x, y] : points[k]) raw.push_back({axes.X(x), axes.Y(y)});
    const std::vector<std::pair<double, double>> smooth = Smoothed(raw);
    if (raw.size() >= 20) c.Polyline(raw, s.color, 1.0, 0.28);  // faint
    c.Polyline(smooth, s.color, 2.0);
    if (raw.size() == 1) c.Circle(raw[0].first, raw[0].second, 3, s.color);
    const double lx = axes.legend_x();
    c.Line(lx, legend_y - 4, lx + 22, legend_y - 4, s.color, 3);
    c.Text(lx + 28, legend_y, s.name, kInk, legend_style);
    legend_y += 20;
  }
  return c.Image();
}

data::RgbImage StackVertically(const std::vector<data::RgbImage>& images) {
  int width = 0, height = 0;
  for (const data::RgbImage& im : images) {
    width = std::max(width, im.width);
    height += im.height;
  }
  data::RgbImage out = Blank(width, height);
  int y0 = 0;
  for (const data::RgbImage& im : images) {
    for (int y = 0; y < im.height; ++y) {
      std::copy_n(im.pixels.data() + static_cast<size_t>(y) * im.width * 3,
                  static_cast<size_t>(im.width) * 3, out.at(0, y0 + y));
    }
    y0 += im.height;
  }
  return out;
}

data::RgbImage StackHorizontally(const std::vector<data::RgbImage>& images,
                                 int gap, Color background) {
  int width = 0, height = 0;
  for (const data::RgbImage& im : images) {
    width += im.width + (width > 0 ? gap : 0);
    height = std::max(height, im.height);
  }
  data::RgbImage out = Blank(width, height, background);
  int x0 = 0;
  for (const data::RgbImage& im : images) {
    for (int y = 0; y < im.height; ++y) {
      std::copy_n(im.pixels.data() + static_cast<size_t>(y) * im.width * 3,
                  static_cast<size_t>(im.width) * 3, out.at(x0, y));
    }
    x0 += im.width + gap;
  }
  return out;
}

}  // namespace sniper::viz
