#include "data/chip_render.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sniper::data {
namespace {

// Source taps of one output coordinate.
struct Tap {
  int32_t i0, i1;  // source indices (clamped)
  float w1;        // weight of i1; i0 gets 1 - w1
};

// Output pixel u of the window maps to decoded coordinate
// ((start + u + 0.5) / scale) * factor - 0.5 - offset.
void BuildTaps(int32_t count, int32_t start, double scale, double factor,
               int32_t offset, int32_t source_size, bool reverse,
               std::vector<Tap>* taps) {
  taps->resize(count);
  const double ratio = factor / scale;
  for (int32_t u = 0; u < count; ++u) {
    const int32_t su = reverse ? count - 1 - u : u;
    double x = (start + su + 0.5) * ratio - 0.5 - offset;
    x = std::clamp(x, 0.0, static_cast<double>(source_size - 1));
    const int32_t i0 = static_cast<int32_t>(x);
    const int32_t i1 = std::min(i0 + 1, source_size - 1);
    (*taps)[u] = {i0, i1, static_cast<float>(x - i0)};
  }
}

}  // namespace

size_t ChipCanvasBytes(const ChipRenderOptions& o) {
  const size_t pixels = static_cast<size_t>(o.width()) * o.height();
  return o.layout == ChipLayout::kHwcUint8 ? pixels * 3
                                           : pixels * 3 * sizeof(float);
}

void RenderChip(const DecodedRegion& region, const Chip& chip, double scale,
                bool flip, const ChipRenderOptions& o, void* out) {
  const int32_t s = o.width();  // row stride
  const int32_t cw = std::min(chip.x2 - chip.x1, o.width());
  const int32_t ch = std::min(chip.y2 - chip.y1, o.height());
  const RgbImage& src = region.image;
  std::vector<Tap> xt, yt;
  BuildTaps(cw, chip.x1, scale, region.factor, region.offset_x, src.width, flip,
            &xt);
  BuildTaps(ch, chip.y1, scale, region.factor, region.offset_y, src.height,
            false, &yt);
  std::vector<float> row0(static_cast<size_t>(cw) * 3),
      row1(static_cast<size_t>(cw) * 3);
  auto interp_row = [&](int32_t y, float* dst) {
    const uint8_t* line =
        src.pixels.data() + static_cast<size_t>(y) * src.width * 3;
    for (int32_t u = 0; u < cw; ++u) {
      const Tap t = xt[u];
      const uint8_t* a = line + 3 * t.i0;
      const uint8_t* b = line + 3 * t.i1;
      for (int c = 0; c < 3; ++c) dst[3 * u + c] = a[c] + t.w1 * (b[c] - a[c]);
    }
  };
  const size_t plane = static_cast<size_t>(o.width()) * o.height();
  if (o.layout == ChipLayout::kHwcUint8) {
    uint8_t* dst = static_cast<uint8_t*>(out);
    for (size_t p = 0; p < plane; ++p) {
      std::memcpy(dst + 3 * p, o.pad_value, 3);
    }
  } else {
    std::memset(out, 0, plane * 3 * sizeof(float));
  }
  int32_t cached0 = -1, cached1 = -1;
  for (int32_t v = 0; v < ch; ++v) {
    const Tap t = yt[v];
    // Consecutive output rows usually share source rows: reuse them.
    if (t.i0 == cached1) {
      std::swap(row0, row1);
      cached0 = cached1;
      cached1 = -1;
    }
    if (t.i0 != cached0) {
      interp_row(t.i0, row0.data());
      cached0 = t.i0;
    }
    if (t.i1 != cached1) {
      interp_row(t.i1, row1.data());
      cached1 = t.i1;
    }
    const float w1 = t.w1, w0 = 1.0f - t.w1;
    if (o.layout == ChipLayout::kHwcUint8) {
      uint8_t* dst =
          static_cast<uint8_t*>(out) + static_cast<size_t>(v) * s * 3;
      for (int32_t k = 0; k < cw * 3; ++k) {
        const float p = w0 * row0[k] + w1 * row1[k];
        dst[k] = static_cast<uint8_t>(std::min(255.0f, p + 0.5f));
      }
    } else {
      float* dst = static_cast<float*>(out);
      for (int c = 0; c < 3; ++c) {
        float* line = dst + c * plane + static_cast<size_t>(v) * s;
        const float inv = 1.0f / o.std[c], mean = o.mean[c];
        for (int32_t u = 0; u < cw; ++u) {
          const float p = w0 * row0[3 * u + c] + w1 * row1[3 * u + c];
          line[u] = (p - mean) * inv;
        }
      }
    }
  }
}

DecodeRequest ChipDecodeRequest(const ImageAtScale& at, const Chip& c) {
  DecodeRequest req;
  req.scale = at.scale;
  req.x0 = static_cast<int32_t>(std::floor(c.x1 / at.scale));
  req.y0 = static_cast<int32_t>(std::floor(c.y1 / at.scale));
  req.x1 = static_cast<int32_t>(std::ceil(c.x2 / at.scale));
  req.y1 = static_cast<int32_t>(std::ceil(c.y2 / at.scale));
  return req;
}

void FlipBoxes(std::vector<Box>* boxes, float window_width) {
  for (Box& b : *boxes) {
    const float x1 = window_width - b.x2, x2 = window_width - b.x1;
    b.x1 = x1;
    b.x2 = x2;
  }
}

}  // namespace sniper::data
