#include "viz/plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "viz/canvas.h"

namespace sniper::viz {
namespace {

// Round tick values print without noise: "0.2", "1500", "1e-05".
std::string TickLabel(double v) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return absl::StrFormat("%.0e", v);
  return absl::StrFormat("%.4g", v);
}

}  // namespace

std::vector<double> LinearTicks(double lo, double hi, int target) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi) || target < 1) {
    return {};
  }
  // The step 1, 2 or 5 times a power of ten giving about `target` ticks.
  const double raw = (hi - lo) / target;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * decade;
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * decade >= raw) {
      step = m * decade;
      break;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step;
       ++k) {
    const double t = k * step;
    ticks.push_back(std::fabs(t) < 1e-12 * step ? 0.0 : t);
  }
  return ticks;
}

std::vector<double> LogTicks(double lo, double hi) {
  if (!(lo > 0 && std::isfinite(hi) && lo < hi)) return {};
  // Decades; where fewer than two fit, the 1-2-5 values within them.
  for (const std::vector<double>& mantissas :
       {std::vector<double>{1}, std::vector<double>{1, 2, 5},
        std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    std::vector<double> ticks;
    for (int e = static_cast<int>(std::floor(std::log10(lo)));
         e <= static_cast<int>(std::ceil(std::log10(hi))); ++e) {
      for (double m : mantissas) {
        const double t = m * std::pow(10.0, e);
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
      }
    }
    if (ticks.size() >= 2) return ticks;
  }
  return LinearTicks(lo, hi, 4);
}

namespace {

constexpr Color kInk = {30, 30, 30};
constexpr Color kGrid = {228, 228, 228};

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
  Canvas::TextStyle title_style, tick_style, legend_style;
  title_style.size = 15;
  title_style.bold = true;
  tick_style.size = 11;
  legend_style.size = 12;
  std::vector<std::vector<std::pair<double, double>>> points;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  double legend_width = 0;
  for (const Series& s : series) {
    points.push_back(Usable(s, log_y));
    for (const auto& [x, y] : points.back()) {
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
    legend_width = std::max(legend_width, c.TextWidth(s.name, legend_style));
  }
  c.Text(16, 24, title, kInk, title_style);
  if (!(x_lo <= x_hi)) {
    c.Text(width / 2.0, height / 2.0, "no data", {140, 140, 140}, tick_style);
    return c.Image();
  }
  // The legend sits right of the axes, so it never covers a line.
  const double left = 72, top = 40, bottom = height - 48;
  const double right = width - 24 - (legend_width > 0 ? legend_width + 44 : 0);
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (y_hi == y_lo) {
    y_hi += 0.5;
    y_lo -= 0.5;
  }
  const double pad = 0.05 * (y_hi - y_lo);
  y_lo -= pad;
  y_hi += pad;
  auto px = [&](double x) {
    return left + (x - x_lo) / (x_hi - x_lo) * (right - left);
  };
  auto py = [&](double y) {  // y in the plotted space (log10 on a log axis)
    return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top);
  };
  tick_style.align = Canvas::Align::kCenter;
  for (const double fx : LinearTicks(x_lo, x_hi, 6)) {
    const double gx = std::round(px(fx));
    c.Line(gx, top, gx, bottom, kGrid, 1);
    c.Text(gx, bottom + 17, TickLabel(fx), kInk, tick_style);
  }
  const std::vector<double> y_ticks =
      log_y ? LogTicks(std::pow(10.0, y_lo), std::pow(10.0, y_hi))
            : LinearTicks(y_lo, y_hi, 5);
  tick_style.align = Canvas::Align::kRight;
  for (const double fy : y_ticks) {
    const double gy = std::round(py(log_y ? std::log10(fy) : fy));
    c.Line(left, gy, right, gy, kGrid, 1);
    c.Text(left - 7, gy + 4, TickLabel(fy), kInk, tick_style);
  }
  c.StrokeRect(static_cast<int>(left), static_cast<int>(top),
               static_cast<int>(right), static_cast<int>(bottom),
               {150, 150, 150}, 1);
  tick_style.align = Canvas::Align::kCenter;
  c.Text((left + right) / 2, height - 10, x_label, kInk, tick_style);
  if (log_y) {
    Canvas::TextStyle axis = tick_style;
    axis.angle = 90;
    c.Text(16, (top + bottom) / 2, "log scale", {110, 110, 110}, axis);
  }
  double legend_y = top + 14;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::vector<std::pair<double, double>> raw;
    for (const auto& [x, y] : points[k]) raw.push_back({px(x), py(y)});
    const std::vector<std::pair<double, double>> smooth = Smoothed(raw);
    if (raw.size() >= 20) c.Polyline(raw, s.color, 1.0, 0.28);  // faint
    c.Polyline(smooth, s.color, 2.0);
    if (raw.size() == 1) c.Circle(raw[0].first, raw[0].second, 3, s.color);
    const double lx = right + 16;
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
