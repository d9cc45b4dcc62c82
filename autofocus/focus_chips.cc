#include "autofocus/focus_chips.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sniper::autofocus {
namespace {

// `in` dilated by 2r+1 cells along one axis (horizontal: x, else y).
std::vector<uint8_t> Dilate1D(const std::vector<uint8_t>& in, int32_t w,
                              int32_t h, int32_t r, bool horizontal) {
  std::vector<uint8_t> out(in.size());
  const int32_t limit = horizontal ? w : h;
  for (int32_t y = 0; y < h; ++y) {
    for (int32_t x = 0; x < w; ++x) {
      const int32_t at = horizontal ? x : y;
      uint8_t v = 0;
      for (int32_t k = std::max(0, at - r); k <= std::min(limit - 1, at + r);
           ++k) {
        v |= in[static_cast<size_t>(horizontal ? y : k) * w +
                (horizontal ? k : x)];
      }
      out[static_cast<size_t>(y) * w + x] = v;
    }
  }
  return out;
}

// Binary map after threshold and a d x d dilation (separable max).
std::vector<uint8_t> Mask(const FocusMap& map, const FocusChipOptions& o) {
  const int32_t w = map.width, h = map.height, r = o.dilation / 2;
  std::vector<uint8_t> on(static_cast<size_t>(w) * h);
  for (size_t i = 0; i < on.size(); ++i) on[i] = map.prob[i] >= o.threshold;
  if (r == 0) return on;
  return Dilate1D(Dilate1D(on, w, h, r, /*horizontal=*/true), w, h, r,
                  /*horizontal=*/false);
}

// Bounding rectangles of the 8-connected components of `on`.
std::vector<CellRect> Components(std::vector<uint8_t> on, int32_t w,
                                 int32_t h) {
  std::vector<CellRect> out;
  std::vector<int32_t> stack;
  for (int32_t start = 0; start < w * h; ++start) {
    if (!on[start]) continue;
    CellRect r{start % w, start / w, start % w + 1, start / w + 1};
    on[start] = 0;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int32_t c = stack.back();
      stack.pop_back();
      const int32_t cx = c % w, cy = c / w;
      r.x1 = std::min(r.x1, cx);
      r.y1 = std::min(r.y1, cy);
      r.x2 = std::max(r.x2, cx + 1);
      r.y2 = std::max(r.y2, cy + 1);
      for (int32_t ny = std::max(0, cy - 1); ny <= std::min(h - 1, cy + 1);
           ++ny) {
        for (int32_t nx = std::max(0, cx - 1); nx <= std::min(w - 1, cx + 1);
             ++nx) {
          const int32_t n = ny * w + nx;
          if (on[n]) {
            on[n] = 0;
            stack.push_back(n);
          }
        }
      }
    }
    out.push_back(r);
  }
  return out;
}

// [lo, hi) grown to at least `size` around its centre, shifted into
// [0, limit).
void Grow(int32_t* lo, int32_t* hi, int32_t size, int32_t limit) {
  size = std::min(size, limit);
  if (*hi - *lo >= size) return;
  const int32_t extra = size - (*hi - *lo);
  *lo -= extra / 2;
  *hi = *lo + size;
  if (*lo < 0) {
    *hi -= *lo;
    *lo = 0;
  }
  if (*hi > limit) {
    *lo -= *hi - limit;
    *hi = limit;
  }
}

}  // namespace

absl::Status ValidateFocusChipOptions(const FocusChipOptions& o,
                                      const std::string& path) {
  if (!(o.threshold >= 0 && o.threshold <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".threshold: must be in [0, 1], got ", o.threshold));
  }
  if (o.dilation < 1 || o.dilation % 2 == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ".dilation: must be odd and >= 1, got ", o.dilation));
  }
  if (o.min_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".min_size: must be >= 1, got ", o.min_size));
  }
  return absl::OkStatus();
}

std::vector<CellRect> FocusChips(const FocusMap& map,
                                 const FocusChipOptions& o) {
  if (map.width <= 0 || map.height <= 0) return {};
  std::vector<CellRect> rects = Components(Mask(map, o), map.width, map.height);
  for (CellRect& r : rects) {
    Grow(&r.x1, &r.x2, o.min_size, map.width);
    Grow(&r.y1, &r.y2, o.min_size, map.height);
  }
  // Merge overlapping rectangles until stable (a union can reach a third).
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < rects.size() && !merged; ++i) {
      for (size_t j = i + 1; j < rects.size(); ++j) {
        if (!rects[i].Overlaps(rects[j])) continue;
        rects[i] = {std::min(rects[i].x1, rects[j].x1),
                    std::min(rects[i].y1, rects[j].y1),
                    std::max(rects[i].x2, rects[j].x2),
                    std::max(rects[i].y2, rects[j].y2)};
        rects.erase(rects.begin() + j);
        merged = true;
        break;
      }
    }
  }
  std::sort(rects.begin(), rects.end(),
            [](const CellRect& a, const CellRect& b) {
              return std::make_pair(a.y1, a.x1) < std::make_pair(b.y1, b.x1);
            });
  return rects;
}

void PasteFocusMap(const FocusMap& piece, int32_t x, int32_t y, int32_t stride,
                   FocusMap* image_map) {
  for (int32_t py = 0; py < piece.height; ++py) {
    const int64_t cy =
        (int64_t{y} + int64_t{py} * stride + stride / 2) / stride;
    if (y + int64_t{py} * stride + stride / 2 < 0 || cy >= image_map->height) {
      continue;
    }
    for (int32_t px = 0; px < piece.width; ++px) {
      const int64_t centre = int64_t{x} + int64_t{px} * stride + stride / 2;
      const int64_t cx = centre / stride;
      if (centre < 0 || cx >= image_map->width) continue;
      float& cell = image_map->prob[static_cast<size_t>(cy) * image_map->width +
                                    static_cast<size_t>(cx)];
      cell = std::max(cell, piece.at(px, py));
    }
  }
}

PixelBox CellsAtScale(const CellRect& r, int32_t stride, double from_scale,
                      double to_scale, int32_t to_width, int32_t to_height) {
  const double k = to_scale / from_scale * stride;
  // The tolerance keeps products that are integers in exact arithmetic
  // (2 x 16 x 1.5 / 0.5 = 96) from rounding outwards by a pixel through
  // floating-point noise.
  auto down = [](double v) { return std::floor(v + 1e-6); };
  auto up = [](double v) { return std::ceil(v - 1e-6); };
  PixelBox out;
  out.x1 = std::clamp(down(r.x1 * k), 0.0, static_cast<double>(to_width));
  out.y1 = std::clamp(down(r.y1 * k), 0.0, static_cast<double>(to_height));
  out.x2 = std::clamp(up(r.x2 * k), out.x1, static_cast<double>(to_width));
  out.y2 = std::clamp(up(r.y2 * k), out.y1, static_cast<double>(to_height));
  return out;
}

bool CutByChipBorder(const PixelBox& d, const PixelBox& chip,
                     double image_width, double image_height, double margin) {
  const bool left_inside = chip.x1 > 0;
  const bool top_inside = chip.y1 > 0;
  const bool right_inside = chip.x2 < image_width;
  const bool bottom_inside = chip.y2 < image_height;
  return (left_inside && d.x1 <= chip.x1 + margin) ||
         (top_inside && d.y1 <= chip.y1 + margin) ||
         (right_inside && d.x2 >= chip.x2 - margin) ||
         (bottom_inside && d.y2 >= chip.y2 - margin);
}

}  // namespace sniper::autofocus
