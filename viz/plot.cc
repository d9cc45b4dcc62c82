#include "viz/plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"

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

data::RgbImage PlotSeries(absl::string_view title, absl::string_view x_label,
                          const std::vector<Series>& series, int width,
                          int height, bool log_y) {
  data::RgbImage image = Blank(width, height);
  const Color kBlack = {0, 0, 0}, kGrid = {225, 225, 225};
  const int left = 90, right = width - 20, top = 40, bottom = height - 50;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  auto ty = [&](double y) { return log_y ? std::log10(y) : y; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0);
  };
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y)) continue;
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, ty(y));
      y_hi = std::max(y_hi, ty(y));
    }
  }
  DrawText(&image, left, 12, title, kBlack, 3);
  if (!(x_lo <= x_hi)) {
    DrawText(&image, left, height / 2, "NO DATA", kBlack, 3);
    return image;
  }
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (y_hi == y_lo) {
    y_hi += 0.5;
    y_lo -= 0.5;
  }
  const double pad = 0.05 * (y_hi - y_lo);
  y_lo -= pad;
  y_hi += pad;
  auto px = [&](double x) {
    return left + static_cast<int>(
                      std::lround((x - x_lo) / (x_hi - x_lo) * (right - left)));
  };
  auto py = [&](double y) {
    return bottom - static_cast<int>(std::lround(
                        (ty(y) - y_lo) / (y_hi - y_lo) * (bottom - top)));
  };
  for (const double fx : LinearTicks(x_lo, x_hi, 5)) {
    const int gx = px(fx);
    DrawLine(&image, gx, top, gx, bottom, kGrid);
    const std::string lx = TickLabel(fx);
    DrawText(&image, gx - TextWidth(lx) / 2, bottom + 8, lx, kBlack);
  }
  // y ticks in data units (y_lo, y_hi are log10 on a log axis).
  const std::vector<double> y_ticks =
      log_y ? LogTicks(std::pow(10.0, y_lo), std::pow(10.0, y_hi))
            : LinearTicks(y_lo, y_hi, 5);
  for (const double fy : y_ticks) {
    const int gy = py(fy);
    DrawLine(&image, left, gy, right, gy, kGrid);
    const std::string ly = TickLabel(fy);
    DrawText(&image, left - 8 - TextWidth(ly), gy - 5, ly, kBlack);
  }
  DrawLine(&image, left, top, left, bottom, kBlack);
  DrawLine(&image, left, bottom, right, bottom, kBlack);
  DrawText(&image, (left + right - TextWidth(x_label)) / 2, bottom + 28,
           x_label, kBlack);
  int legend_y = top + 6;
  for (const Series& s : series) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : s.points) {
      if (usable(p.first, p.second)) pts.push_back(p);
    }
    std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    for (size_t i = 1; i < pts.size(); ++i) {
      DrawLine(&image, px(pts[i - 1].first), py(pts[i - 1].second),
               px(pts[i].first), py(pts[i].second), s.color);
    }
    if (pts.size() == 1) {
      FillRect(&image, px(pts[0].first) - 2, py(pts[0].second) - 2,
               px(pts[0].first) + 3, py(pts[0].second) + 3, s.color);
    }
    const int lx = right - TextWidth(s.name) - 40;
    FillRect(&image, lx, legend_y + 4, lx + 24, legend_y + 7, s.color);
    DrawText(&image, lx + 30, legend_y, s.name, kBlack);
    legend_y += 16;
  }
  return image;
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
