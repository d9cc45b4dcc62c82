#include "viz/axes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sniper::viz {
namespace {

constexpr Color kGrid = {228, 228, 228};
constexpr Color kFrame = {150, 150, 150};
constexpr Color kNote = {110, 110, 110};

// Round tick values print without noise: "0.2", "1500", "1e-05".
std::string TickLabel(double v) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return absl::StrFormat("%.0e", v);
  return absl::StrFormat("%.4g", v);
}

// Ticks of an axis over plotted values [lo, hi]: (plotted position, value).
std::vector<std::pair<double, double>> AxisTicks(double lo, double hi, bool log,
                                                 int target) {
  std::vector<std::pair<double, double>> out;
  if (log) {
    for (double t : LogTicks(std::pow(10.0, lo), std::pow(10.0, hi))) {
      out.push_back({std::log10(t), t});
    }
  } else {
    for (double t : LinearTicks(lo, hi, target)) out.push_back({t, t});
  }
  return out;
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

Axes DrawAxes(Canvas& c, const AxesSpec& spec, const PlottedPoints& points) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  for (const auto& series : points) {
    for (const auto& [x, y] : series) {
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  Canvas::TextStyle title_style, tick_style;
  title_style.size = 15;
  title_style.bold = true;
  tick_style.size = 11;
  c.Text(16, 24, spec.title, kInk, title_style);
  Axes a;
  if (!(std::isfinite(x_lo) && std::isfinite(x_hi) && std::isfinite(y_lo) &&
        std::isfinite(y_hi) && x_lo <= x_hi && y_lo <= y_hi)) {
    tick_style.align = Canvas::Align::kCenter;
    c.Text(c.width() / 2.0, c.height() / 2.0, "no data", {140, 140, 140},
           tick_style);
    return a;  // right == left: nothing to draw in
  }
  const bool y_label = !spec.y_label.empty() || spec.log_y;
  a.left = spec.y_label.empty() ? 72 : 84;
  a.top = 40;
  a.bottom = c.height() - 48;
  a.right =
      c.width() - 24 - (spec.legend_width > 0 ? spec.legend_width + 44 : 0);
  if (x_hi == x_lo) {
    x_hi += 0.5;
    x_lo -= 0.5;
  }
  if (y_hi == y_lo) {
    y_hi += 0.5;
    y_lo -= 0.5;
  }
  const double xp = spec.x_pad * (x_hi - x_lo), yp = spec.y_pad * (y_hi - y_lo);
  a.x_lo = x_lo - xp;
  a.x_hi = x_hi + xp;
  a.y_lo = y_lo - yp;
  a.y_hi = y_hi + yp;
  tick_style.align = Canvas::Align::kCenter;
  for (const auto& [pos, value] : AxisTicks(a.x_lo, a.x_hi, spec.log_x, 6)) {
    const double gx = std::round(a.X(pos));
    c.Line(gx, a.top, gx, a.bottom, kGrid, 1);
    c.Text(gx, a.bottom + 17, TickLabel(value), kInk, tick_style);
  }
  tick_style.align = Canvas::Align::kRight;
  for (const auto& [pos, value] : AxisTicks(a.y_lo, a.y_hi, spec.log_y, 5)) {
    const double gy = std::round(a.Y(pos));
    c.Line(a.left, gy, a.right, gy, kGrid, 1);
    c.Text(a.left - 7, gy + 4, TickLabel(value), kInk, tick_style);
  }
  c.StrokeRect(static_cast<int>(a.left), static_cast<int>(a.top),
               static_cast<int>(a.right), static_cast<int>(a.bottom), kFrame,
               1);
  tick_style.align = Canvas::Align::kCenter;
  c.Text((a.left + a.right) / 2, c.height() - 10,
         spec.log_x ? absl::StrCat(spec.x_label, " (log scale)") : spec.x_label,
         kInk, tick_style);
  if (y_label) {
    Canvas::TextStyle axis = tick_style;
    axis.angle = 90;
    const std::string text =
        spec.y_label.empty()
            ? "log scale"
            : (spec.log_y ? absl::StrCat(spec.y_label, " (log scale)")
                          : spec.y_label);
    c.Text(16, (a.top + a.bottom) / 2, text,
           spec.y_label.empty() ? kNote : kInk, axis);
  }
  return a;
}

}  // namespace sniper::viz
