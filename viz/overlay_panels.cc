#include "viz/overlay_panels.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "viz/draw.h"
#include "viz/plot.h"

namespace sniper::viz {
namespace {

constexpr Color kThin = {255, 255, 255};
constexpr Color kThick = {255, 220, 0};

void DrawPanelRect(data::RgbImage* image, const PanelRect& r, Color color,
                   int thickness) {
  const int x1 = static_cast<int>(std::floor(r.x1));
  const int y1 = static_cast<int>(std::floor(r.y1));
  const int x2 =
      std::min(image->width - 1, static_cast<int>(std::ceil(r.x2)) - 1);
  const int y2 =
      std::min(image->height - 1, static_cast<int>(std::ceil(r.y2)) - 1);
  DrawRect(image, x1, y1, x2, y2, color, thickness);
}

void Tint(data::RgbImage* image, const HeatGrid& heat) {
  for (int32_t y = 0; y < image->height; ++y) {
    const int32_t cy = static_cast<int32_t>(y * heat.scale) / heat.cell;
    if (cy >= heat.height) continue;
    for (int32_t x = 0; x < image->width; ++x) {
      const int32_t cx = static_cast<int32_t>(x * heat.scale) / heat.cell;
      if (cx >= heat.width) continue;
      const float v = heat.values[static_cast<size_t>(cy) * heat.width + cx];
      const float a = 0.65f * std::clamp(v, 0.0f, 1.0f);
      uint8_t* p = image->at(x, y);
      p[0] = static_cast<uint8_t>(p[0] * (1 - a) + 255 * a);
      p[1] = static_cast<uint8_t>(p[1] * (1 - a));
      p[2] = static_cast<uint8_t>(p[2] * (1 - a));
    }
  }
}

}  // namespace

data::RgbImage DrawOverlayPanels(const data::RgbImage& original,
                                 const std::vector<OverlayPanel>& panels) {
  if (panels.empty()) return original;
  const int thick =
      std::max(1, std::max(original.width, original.height) / 400);
  std::vector<data::RgbImage> images;
  for (const OverlayPanel& p : panels) {
    data::RgbImage image = original;
    if (!p.heat.values.empty()) Tint(&image, p.heat);
    for (const PanelRect& r : p.thin) DrawPanelRect(&image, r, kThin, thick);
    for (const PanelRect& r : p.thick) {
      DrawPanelRect(&image, r, kThick, 2 * thick);
    }
    DrawLabel(&image, 4, 4, p.caption, {0, 0, 0}, {255, 255, 255});
    images.push_back(std::move(image));
  }
  return StackHorizontally(images, 8, {255, 255, 255});
}

}  // namespace sniper::viz
