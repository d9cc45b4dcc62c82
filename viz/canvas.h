// File: viz/canvas.h
//
// Vector drawing onto an RGB image through cairo (Debian's libcairo2):
// antialiased lines and polylines, filled and outlined rectangles with
// alpha, and text in a real font (DejaVu Sans through fontconfig, cairo's
// falls back to another sans font where it is missing). Coordinates are
// pixels; an axis-aligned rectangle or line whose width is odd is snapped
// to pixel centres so it stays crisp. Everything clips to the image.
//
//   Canvas c(640, 480, {255, 255, 255});
//   c.Line(10, 10, 300, 200, {0, 0, 0}, 1.5);
//   c.Text(20, 40, "AP 0.593", {0, 0, 0}, 14);
//   data::RgbImage image = c.Image();
#ifndef SNIPER_VIZ_CANVAS_H_
#define SNIPER_VIZ_CANVAS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"

namespace sniper::viz {

using Color = std::array<uint8_t, 3>;

class Canvas {
 public:
  enum class Align { kLeft, kCenter, kRight };
  struct TextStyle {
    double size = 12;  // pixels per em
    bool bold = false;
    Align align = Align::kLeft;
    double angle = 0;  // degrees, counter-clockwise, about (x, y)
  };

  // A blank `width` x `height` canvas filled with `fill`.
  Canvas(int width, int height, Color fill);
  // A canvas holding a copy of `image`, to draw over.
  explicit Canvas(const data::RgbImage& image);
  ~Canvas();
  Canvas(Canvas&&) noexcept;
  Canvas& operator=(Canvas&&) noexcept;

  int width() const;
  int height() const;

  void FillRect(double x1, double y1, double x2, double y2, Color color,
                double alpha = 1.0);
  // The outline of [x1, x2] x [y1, y2] (pixel corners inclusive), `width`
  // pixels wide, growing outwards from that outline.
  void StrokeRect(int x1, int y1, int x2, int y2, Color color, int width);
  void Line(double x0, double y0, double x1, double y1, Color color,
            double width, double alpha = 1.0, bool dashed = false);
  void Polyline(const std::vector<std::pair<double, double>>& points,
                Color color, double width, double alpha = 1.0,
                bool dashed = false);
  void Circle(double x, double y, double radius, Color color);
  // The closed polygon through `points`, filled.
  void FillPolygon(const std::vector<std::pair<double, double>>& points,
                   Color color, double alpha = 1.0);

  // Text whose baseline starts at (x, y) (aligned per style); returns its
  // advance width.
  double Text(double x, double y, absl::string_view text, Color color,
              const TextStyle& style);
  double TextWidth(absl::string_view text, const TextStyle& style) const;
  // Height of capital letters above the baseline, and the depth of
  // descenders below it, at `style`.
  double CapHeight(const TextStyle& style) const;
  double Descent(const TextStyle& style) const;

  // The pixels drawn so far.
  data::RgbImage Image() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_CANVAS_H_
