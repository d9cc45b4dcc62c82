#include "autofocus/focus_trace.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "viz/draw.h"
#include "viz/plot.h"

namespace sniper::autofocus {
namespace {

constexpr viz::Color kWindow = {255, 255, 255};
constexpr viz::Color kFocusChip = {255, 220, 0};

// Scaled pixels of a scale with factor `scale` -> original pixels.
void DrawScaledRect(data::RgbImage* image, const data::Chip& c, double scale,
                    viz::Color color, int thickness) {
  const int x1 = static_cast<int>(std::floor(c.x1 / scale));
  const int y1 = static_cast<int>(std::floor(c.y1 / scale));
  const int x2 =
      std::min(image->width - 1, static_cast<int>(std::ceil(c.x2 / scale)) - 1);
  const int y2 = std::min(image->height - 1,
                          static_cast<int>(std::ceil(c.y2 / scale)) - 1);
  viz::DrawRect(image, x1, y1, x2, y2, color, thickness);
}

void TintMap(data::RgbImage* image, const FocusMap& map, double scale,
             int stride) {
  for (int32_t y = 0; y < image->height; ++y) {
    const int32_t cy = static_cast<int32_t>(y * scale) / stride;
    if (cy >= map.height) continue;
    for (int32_t x = 0; x < image->width; ++x) {
      const int32_t cx = static_cast<int32_t>(x * scale) / stride;
      if (cx >= map.width) continue;
      const float a = 0.65f * std::clamp(map.at(cx, cy), 0.0f, 1.0f);
      uint8_t* p = image->at(x, y);
      p[0] = static_cast<uint8_t>(p[0] * (1 - a) + 255 * a);
      p[1] = static_cast<uint8_t>(p[1] * (1 - a));
      p[2] = static_cast<uint8_t>(p[2] * (1 - a));
    }
  }
}

}  // namespace

data::RgbImage DrawFocusTrace(const data::RgbImage& original,
                              const std::vector<FocusStep>& steps, int stride) {
  std::vector<data::RgbImage> panels;
  const int thick =
      std::max(1, std::max(original.width, original.height) / 400);
  for (const FocusStep& s : steps) {
    data::RgbImage panel = original;
    if (!s.map.prob.empty()) TintMap(&panel, s.map, s.at.scale, stride);
    for (const data::Chip& w : s.windows) {
      DrawScaledRect(&panel, w, s.at.scale, kWindow, thick);
    }
    for (const data::Chip& c : s.next_chips) {
      DrawScaledRect(&panel, c, s.next_scale, kFocusChip, 2 * thick);
    }
    const std::string caption =
        s.next_scale_index < 0
            ? absl::StrFormat("scale %d (x%.2f): %d windows", s.scale_index,
                              s.at.scale, s.windows.size())
            : absl::StrFormat("scale %d (x%.2f): %d windows, %d FocusChips",
                              s.scale_index, s.at.scale, s.windows.size(),
                              s.next_chips.size());
    viz::DrawLabel(&panel, 4, 4, caption, {0, 0, 0}, {255, 255, 255});
    panels.push_back(std::move(panel));
  }
  if (panels.empty()) return original;
  return viz::StackHorizontally(panels, 8, {255, 255, 255});
}

}  // namespace sniper::autofocus
