#include "viz/canvas.h"

#include <cairo/cairo.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace sniper::viz {
namespace {

constexpr char kFont[] = "DejaVu Sans";

void SetColor(cairo_t* cr, Color c, double alpha) {
  cairo_set_source_rgba(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, alpha);
}

void SetFont(cairo_t* cr, const Canvas::TextStyle& style) {
  cairo_select_font_face(
      cr, kFont, CAIRO_FONT_SLANT_NORMAL,
      style.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, style.size);
}

// A coordinate on a pixel centre when the stroke width is odd (crisp
// axis-aligned strokes).
double Snap(double v, double width) {
  const long w = std::lround(width);
  return std::abs(width - w) < 1e-9 && w % 2 == 1 ? std::floor(v) + 0.5 : v;
}

}  // namespace

struct Canvas::State {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  ~State() {
    if (cr != nullptr) cairo_destroy(cr);
    if (surface != nullptr) cairo_surface_destroy(surface);
  }
};

Canvas::Canvas(int width, int height, Color fill)
    : state_(std::make_unique<State>()) {
  state_->surface = cairo_image_surface_create(
      CAIRO_FORMAT_RGB24, std::max(width, 0), std::max(height, 0));
  state_->cr = cairo_create(state_->surface);
  SetColor(state_->cr, fill, 1.0);
  cairo_paint(state_->cr);
}

Canvas::Canvas(const data::RgbImage& image)
    : Canvas(image.width, image.height, {0, 0, 0}) {
  cairo_surface_flush(state_->surface);
  unsigned char* data = cairo_image_surface_get_data(state_->surface);
  const int stride = cairo_image_surface_get_stride(state_->surface);
  for (int y = 0; y < image.height; ++y) {
    auto* row =
        reinterpret_cast<uint32_t*>(data + static_cast<size_t>(y) * stride);
    const uint8_t* src =
        image.pixels.data() + static_cast<size_t>(y) * image.width * 3;
    for (int x = 0; x < image.width; ++x) {
      row[x] = (uint32_t{src[3 * x]} << 16) | (uint32_t{src[3 * x + 1]} << 8) |
               uint32_t{src[3 * x + 2]};
    }
  }
  cairo_surface_mark_dirty(state_->surface);
}

Canvas::~Canvas() = default;
Canvas::Canvas(Canvas&&) noexcept = default;
Canvas& Canvas::operator=(Canvas&&) noexcept = default;

int Canvas::width() const {
  return cairo_image_surface_get_width(state_->surface);
}
int Canvas::height() const {
  return cairo_image_surface_get_height(state_->surface);
}

void Canvas::FillRect(double x1, double y1, double x2, double y2, Color color,
                      double alpha) {
  if (x2 <= x1 || y2 <= y1) return;
  SetColor(state_->cr, color, alpha);
  cairo_rectangle(state_->cr, x1, y1, x2 - x1, y2 - y1);
  cairo_fill(state_->cr);
}

void Canvas::StrokeRect(int x1, int y1, int x2, int y2, Color color,
                        int width) {
  if (width < 1) return;
  cairo_t* cr = state_->cr;
  const double half = width / 2.0;
  const double left = x1 + 1 - half, top = y1 + 1 - half;
  const double right = x2 + half, bottom = y2 + half;
  SetColor(cr, color, 1.0);
  cairo_set_line_width(cr, width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
}

void Canvas::Line(double x0, double y0, double x1, double y1, Color color,
                  double width, double alpha, bool dashed) {
  if (x0 == x1) x0 = x1 = Snap(x0, width);
  if (y0 == y1) y0 = y1 = Snap(y0, width);
  Polyline({{x0, y0}, {x1, y1}}, color, width, alpha, dashed);
}

void Canvas::Polyline(const std::vector<std::pair<double, double>>& points,
                      Color color, double width, double alpha, bool dashed) {
  if (points.size() < 2) return;
  cairo_t* cr = state_->cr;
  cairo_save(cr);
  SetColor(cr, color, alpha);
  cairo_set_line_width(cr, width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  if (dashed) {
    const double dash[] = {4 * width, 3 * width};
    cairo_set_dash(cr, dash, 2, 0);
  }
  cairo_move_to(cr, points[0].first, points[0].second);
  for (size_t i = 1; i < points.size(); ++i) {
    cairo_line_to(cr, points[i].first, points[i].second);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

void Canvas::Circle(double x, double y, double radius, Color color) {
  SetColor(state_->cr, color, 1.0);
  cairo_arc(state_->cr, x, y, radius, 0, 2 * M_PI);
  cairo_fill(state_->cr);
}

void Canvas::FillPolygon(const std::vector<std::pair<double, double>>& points,
                         Color color, double alpha) {
  if (points.size() < 3) return;
  cairo_t* cr = state_->cr;
  SetColor(cr, color, alpha);
  cairo_move_to(cr, points[0].first, points[0].second);
  for (size_t i = 1; i < points.size(); ++i) {
    cairo_line_to(cr, points[i].first, points[i].second);
  }
  cairo_close_path(cr);
  cairo_fill(cr);
}

double Canvas::TextWidth(absl::string_view text, const TextStyle& style) const {
  if (text.empty()) return 0;
  cairo_t* cr = state_->cr;
  cairo_save(cr);
  SetFont(cr, style);
  const std::string s(text);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_restore(cr);
  return e.x_advance;
}

double Canvas::CapHeight(const TextStyle& style) const {
  cairo_t* cr = state_->cr;
  cairo_save(cr);
  SetFont(cr, style);
  cairo_text_extents_t e;
  cairo_text_extents(cr, "H", &e);
  cairo_restore(cr);
  return -e.y_bearing;
}

double Canvas::Descent(const TextStyle& style) const {
  cairo_t* cr = state_->cr;
  cairo_save(cr);
  SetFont(cr, style);
  cairo_font_extents_t e;
  cairo_font_extents(cr, &e);
  cairo_restore(cr);
  return e.descent;
}

double Canvas::Text(double x, double y, absl::string_view text, Color color,
                    const TextStyle& style) {
  if (text.empty()) return 0;
  const double width = TextWidth(text, style);
  const double shift = style.align == Align::kLeft     ? 0
                       : style.align == Align::kCenter ? -width / 2
                                                       : -width;
  cairo_t* cr = state_->cr;
  cairo_save(cr);
  SetFont(cr, style);
  SetColor(cr, color, 1.0);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -style.angle * M_PI / 180.0);
  cairo_move_to(cr, shift, 0);
  const std::string s(text);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
  return width;
}

data::RgbImage Canvas::Image() const {
  cairo_surface_flush(state_->surface);
  data::RgbImage out;
  out.width = width();
  out.height = height();
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  const unsigned char* data = cairo_image_surface_get_data(state_->surface);
  const int stride = cairo_image_surface_get_stride(state_->surface);
  for (int y = 0; y < out.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(
        data + static_cast<size_t>(y) * stride);
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * out.width * 3;
    for (int x = 0; x < out.width; ++x) {
      dst[3 * x] = static_cast<uint8_t>(row[x] >> 16);
      dst[3 * x + 1] = static_cast<uint8_t>(row[x] >> 8);
      dst[3 * x + 2] = static_cast<uint8_t>(row[x]);
    }
  }
  return out;
}

}  // namespace sniper::viz
