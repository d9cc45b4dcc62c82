#include "sniper/plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_format.h"

namespace sniper {
namespace {

// 3x5 glyphs, five rows of three bits each, top row first.
const char* Glyph(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case '0':
      return "111101101101111";
    case '1':
      return "010110010010111";
    case '2':
      return "111001111100111";
    case '3':
      return "111001111001111";
    case '4':
      return "101101111001001";
    case '5':
      return "111100111001111";
    case '6':
      return "111100111101111";
    case '7':
      return "111001001001001";
    case '8':
      return "111101111101111";
    case '9':
      return "111101111001111";
    case 'A':
      return "010101111101101";
    case 'B':
      return "110101110101110";
    case 'C':
      return "011100100100011";
    case 'D':
      return "110101101101110";
    case 'E':
      return "111100110100111";
    case 'F':
      return "111100110100100";
    case 'G':
      return "011100101101011";
    case 'H':
      return "101101111101101";
    case 'I':
      return "111010010010111";
    case 'J':
      return "001001001101010";
    case 'K':
      return "101101110101101";
    case 'L':
      return "100100100100111";
    case 'M':
      return "101111111101101";
    case 'N':
      return "110101101101101";
    case 'O':
      return "010101101101010";
    case 'P':
      return "110101110100100";
    case 'Q':
      return "010101101110011";
    case 'R':
      return "110101110101101";
    case 'S':
      return "011100010001110";
    case 'T':
      return "111010010010010";
    case 'U':
      return "101101101101111";
    case 'V':
      return "101101101101010";
    case 'W':
      return "101101111111101";
    case 'X':
      return "101101010101101";
    case 'Y':
      return "101101010010010";
    case 'Z':
      return "111001010100111";
    case '.':
      return "000000000000010";
    case ',':
      return "000000000010100";
    case '-':
      return "000000111000000";
    case '+':
      return "000010111010000";
    case ':':
      return "000010000010000";
    case '/':
      return "001001010100100";
    case '=':
      return "000111000111000";
    case '_':
      return "000000000000111";
    case '(':
      return "001010010010001";
    case ')':
      return "100010010010100";
    case '%':
      return "101001010100101";
    case '[':
      return "011010010010011";
    case ']':
      return "110010010010110";
    default:
      return "000000000000000";  // space and anything else
  }
}

void Put(data::RgbImage* image, int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= image->width || y >= image->height) return;
  uint8_t* p = image->at(x, y);
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

data::RgbImage Blank(int width, int height) {
  data::RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.assign(static_cast<size_t>(width) * height * 3, 255);
  return image;
}

std::string TickLabel(double v) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return absl::StrFormat("%.1e", v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.3g", v);
}

}  // namespace

Color PaletteColor(int i) {
  static constexpr Color kPalette[] = {
      {31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
      {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
      {188, 189, 34},  {23, 190, 207}};
  return kPalette[static_cast<size_t>(std::abs(i)) % 10];
}

void FillRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color) {
  x1 = std::max(x1, 0);
  y1 = std::max(y1, 0);
  x2 = std::min(x2, image->width);
  y2 = std::min(y2, image->height);
  for (int y = y1; y < y2; ++y) {
    for (int x = x1; x < x2; ++x) Put(image, x, y, color);
  }
}

void DrawLine(data::RgbImage* image, int x0, int y0, int x1, int y1,
              Color color) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (int guard = 0; guard < 1 << 20; ++guard) {
    Put(image, x0, y0, color);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void DrawRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color, int thickness) {
  for (int t = 0; t < thickness; ++t) {
    FillRect(image, x1 - t, y1 - t, x2 + t + 1, y1 - t + 1, color);
    FillRect(image, x1 - t, y2 + t, x2 + t + 1, y2 + t + 1, color);
    FillRect(image, x1 - t, y1 - t, x1 - t + 1, y2 + t + 1, color);
    FillRect(image, x2 + t, y1 - t, x2 + t + 1, y2 + t + 1, color);
  }
}

int TextWidth(absl::string_view text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * 4 * scale - scale;
}

int DrawText(data::RgbImage* image, int x, int y, absl::string_view text,
             Color color, int scale) {
  int cx = x;
  for (char c : text) {
    const char* g = Glyph(c);
    for (int r = 0; r < 5; ++r) {
      for (int k = 0; k < 3; ++k) {
        if (g[r * 3 + k] == '1') {
          FillRect(image, cx + k * scale, y + r * scale, cx + (k + 1) * scale,
                   y + (r + 1) * scale, color);
        }
      }
    }
    cx += 4 * scale;
  }
  return TextWidth(text, scale);
}

void DrawLabel(data::RgbImage* image, int x, int y, absl::string_view text,
               Color background, Color foreground, int scale) {
  FillRect(image, x, y, x + TextWidth(text, scale) + 2 * scale, y + 7 * scale,
           background);
  DrawText(image, x + scale, y + scale, text, foreground, scale);
}

int DrawLabeledBoxes(data::RgbImage* image,
                     const std::vector<LabeledBox>& boxes,
                     const std::vector<std::string>& names, float threshold) {
  std::vector<const LabeledBox*> order;
  for (const LabeledBox& b : boxes) {
    if (b.score >= threshold) order.push_back(&b);
  }
  // Lowest score first, so the best box and label end up on top.
  std::stable_sort(order.begin(), order.end(),
                   [](const LabeledBox* a, const LabeledBox* b) {
                     return a->score < b->score;
                   });
  for (const LabeledBox* b : order) {
    const Color color = PaletteColor(b->label);
    DrawRect(image, static_cast<int>(b->x1), static_cast<int>(b->y1),
             static_cast<int>(b->x2), static_cast<int>(b->y2), color, 3);
    const std::string name =
        b->label >= 0 && b->label < static_cast<int>(names.size())
            ? names[b->label]
            : absl::StrFormat("%d", b->label);
    DrawLabel(image, static_cast<int>(b->x1) - 2,
              std::max(0, static_cast<int>(b->y1) - 18),
              absl::StrFormat("%s %.2f", name, b->score), color,
              {255, 255, 255}, 2);
  }
  return static_cast<int>(order.size());
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
  for (int i = 0; i <= 4; ++i) {
    const double fx = x_lo + (x_hi - x_lo) * i / 4;
    const int gx = px(fx);
    DrawLine(&image, gx, top, gx, bottom, kGrid);
    const std::string lx = TickLabel(fx);
    DrawText(&image, gx - TextWidth(lx) / 2, bottom + 8, lx, kBlack);
    const double fy = y_lo + (y_hi - y_lo) * i / 4;
    const int gy = bottom - static_cast<int>(std::lround(
                                (fy - y_lo) / (y_hi - y_lo) * (bottom - top)));
    DrawLine(&image, left, gy, right, gy, kGrid);
    const std::string ly = TickLabel(log_y ? std::pow(10.0, fy) : fy);
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

}  // namespace sniper
