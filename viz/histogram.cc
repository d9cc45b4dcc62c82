#include "viz/histogram.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "viz/axes.h"

namespace sniper::viz {

constexpr Color kBarGrey = {120, 120, 120};

data::RgbImage PlotLogHistogram(absl::string_view title,
                                absl::string_view x_label,
                                const std::vector<double>& values,
                                int bins_per_decade,
                                const std::vector<RangeBand>& bands, int width,
                                int height) {
  Canvas c(width, height, {255, 255, 255});
  Canvas::TextStyle legend_style;
  legend_style.size = 12;
  // Bin k holds log10(v) in [k / b, (k + 1) / b).
  const double b = std::max(bins_per_decade, 1);
  std::map<int, int64_t> bins;
  for (double v : values) {
    if (v > 0 && std::isfinite(v)) {
      ++bins[static_cast<int>(std::floor(std::log10(v) * b))];
    }
  }
  AxesSpec spec;
  spec.title = std::string(title);
  spec.x_label = std::string(x_label);
  spec.y_label = "count";
  spec.log_x = true;
  spec.x_pad = 0.04;
  spec.y_pad = 0;
  for (const RangeBand& band : bands) {
    spec.legend_width =
        std::max(spec.legend_width, c.TextWidth(band.name, legend_style));
  }
  // Room above the tallest bar for one row per band.
  int64_t most = 0;
  for (const auto& [k, n] : bins) most = std::max(most, n);
  const double rows = 1.0 + 0.09 * static_cast<double>(bands.size());
  PlottedPoints points(1);
  for (const auto& [k, n] : bins) {
    points[0].push_back({k / b, 0.0});
    points[0].push_back({(k + 1) / b, static_cast<double>(n)});
  }
  if (!points[0].empty())
    points[0].push_back({points[0][0].first, most * rows});
  const Axes axes = DrawAxes(c, spec, points);
  if (axes.right <= axes.left) return c.Image();
  // Each band's pixel columns, clipped to the axes.
  auto columns = [&](const RangeBand& band) {
    const double x1 = band.lo > 0
                          ? std::max(axes.X(std::log10(band.lo)), axes.left)
                          : axes.left;
    const double x2 = std::isfinite(band.hi) && band.hi > 0
                          ? std::min(axes.X(std::log10(band.hi)), axes.right)
                          : axes.right;
    return std::pair<double, double>(x1, x2);
  };
  // Translucent columns first, then the bars over them (untinted).
  for (const RangeBand& band : bands) {
    const auto [x1, x2] = columns(band);
    if (x2 > x1) c.FillRect(x1, axes.top, x2, axes.bottom, band.color, 0.08);
  }
  for (const auto& [k, n] : bins) {
    c.FillRect(axes.X(k / b) + 0.5, axes.Y(static_cast<double>(n)),
               axes.X((k + 1) / b) - 0.5, axes.Y(0), kBarGrey);
  }
  double legend_y = axes.legend_y();
  for (size_t i = 0; i < bands.size(); ++i) {
    const RangeBand& band = bands[i];
    const auto [x1, x2] = columns(band);
    if (x2 > x1) {
      const double row = most * (1.0 + 0.09 * (bands.size() - i - 0.5));
      c.FillRect(x1, axes.Y(row) - 4, x2, axes.Y(row) + 4, band.color);
    }
    c.FillRect(axes.legend_x(), legend_y - 8, axes.legend_x() + 16, legend_y,
               band.color);
    c.Text(axes.legend_x() + 22, legend_y, band.name, kInk, legend_style);
    legend_y += 20;
  }
  return c.Image();
}

}  // namespace sniper::viz
