#include "viz/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "viz/canvas.h"

namespace sniper::viz {
namespace {

void Put(data::RgbImage* image, int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= image->width || y >= image->height) return;
  uint8_t* p = image->at(x, y);
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

}  // namespace

data::RgbImage Blank(int width, int height, Color fill) {
  data::RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = fill[0];
    image.pixels[i + 1] = fill[1];
    image.pixels[i + 2] = fill[2];
  }
  return image;
}

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

namespace {

Canvas::TextStyle TextStyleFor(int scale) {
  Canvas::TextStyle style;
  style.size = 6.5 * std::max(scale, 1);
  return style;
}

// Measures text (cairo needs a surface; one per thread, never drawn on).
const Canvas& Ruler() {
  thread_local const Canvas ruler(1, 1, {255, 255, 255});
  return ruler;
}

}  // namespace

void DrawLine(data::RgbImage* image, int x0, int y0, int x1, int y1,
              Color color) {
  Canvas c(*image);
  c.Line(x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5, color, 1.0);
  *image = c.Image();
}

void DrawRect(data::RgbImage* image, int x1, int y1, int x2, int y2,
              Color color, int thickness) {
  Canvas c(*image);
  c.StrokeRect(x1, y1, x2, y2, color, thickness);
  *image = c.Image();
}

int TextWidth(absl::string_view text, int scale) {
  return static_cast<int>(
      std::ceil(Ruler().TextWidth(text, TextStyleFor(scale))));
}

int TextHeight(int scale) {
  const Canvas::TextStyle style = TextStyleFor(scale);
  return static_cast<int>(
      std::ceil(Ruler().CapHeight(style) + Ruler().Descent(style)));
}

namespace {

// Text with the top of its capitals at y.
int TextOn(Canvas* c, int x, int y, absl::string_view text, Color color,
           int scale) {
  const Canvas::TextStyle style = TextStyleFor(scale);
  c->Text(x, y + c->CapHeight(style), text, color, style);
  return TextWidth(text, scale);
}

// A label: `text` on a filled box whose top-left corner is (x, y).
void LabelOn(Canvas* c, int x, int y, absl::string_view text, Color background,
             Color foreground, int scale) {
  c->FillRect(x, y, x + TextWidth(text, scale) + 2 * scale,
              y + TextHeight(scale) + 2 * scale, background);
  TextOn(c, x + scale, y + scale, text, foreground, scale);
}

}  // namespace

int DrawText(data::RgbImage* image, int x, int y, absl::string_view text,
             Color color, int scale) {
  Canvas c(*image);
  const int width = TextOn(&c, x, y, text, color, scale);
  *image = c.Image();
  return width;
}

void DrawLabel(data::RgbImage* image, int x, int y, absl::string_view text,
               Color background, Color foreground, int scale) {
  Canvas c(*image);
  LabelOn(&c, x, y, text, background, foreground, scale);
  *image = c.Image();
}

int BlendMask(data::RgbImage* image, const std::vector<uint8_t>& mask,
              Color color, float alpha) {
  const size_t n = static_cast<size_t>(image->width) * image->height;
  if (mask.size() != n) return 0;
  const float a = std::clamp(alpha, 0.0f, 1.0f);
  int tinted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (mask[i] == 0) continue;
    uint8_t* px = image->pixels.data() + 3 * i;
    for (int c = 0; c < 3; ++c) {
      px[c] = static_cast<uint8_t>(std::lround((1 - a) * px[c] + a * color[c]));
    }
    ++tinted;
  }
  return tinted;
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
  Canvas c(*image);
  for (const LabeledBox* b : order) {
    const Color color = PaletteColor(b->label);
    c.StrokeRect(static_cast<int>(b->x1), static_cast<int>(b->y1),
                 static_cast<int>(b->x2), static_cast<int>(b->y2), color, 3);
    const std::string name =
        b->label >= 0 && b->label < static_cast<int>(names.size())
            ? names[b->label]
            : absl::StrFormat("%d", b->label);
    const int label_height = TextHeight(2) + 4;
    LabelOn(&c, static_cast<int>(b->x1) - 2,
            std::max(0, static_cast<int>(b->y1) - 2 - label_height),
            absl::StrFormat("%s %.2f", name, b->score), color, {255, 255, 255},
            2);
  }
  *image = c.Image();
  return static_cast<int>(order.size());
}

}  // namespace sniper::viz
