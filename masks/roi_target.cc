// File: masks/roi_target.cc
#include "masks/roi_target.h"

#include <algorithm>
#include <cmath>

#include "masks/polygon.h"

namespace sniper::masks {
namespace {

std::vector<uint8_t> PolygonTarget(const Segmentation& s, const RoiBox& box,
                                   int32_t m) {
  const double w = std::max(box.x2 - box.x1, 1.0);
  const double h = std::max(box.y2 - box.y1, 1.0);
  const double sx = m / w, sy = m / h;
  std::vector<Rle> parts;
  std::vector<double> xy;
  for (size_t i = 0; i < s.num_polygons(); ++i) {
    const absl::Span<const double> p = s.polygon(i);
    xy.resize(p.size());
    for (size_t k = 0; k + 1 < p.size(); k += 2) {
      xy[k] = (p[k] - box.x1) * sx;
      xy[k + 1] = (p[k + 1] - box.y1) * sy;
    }
    parts.push_back(RleFromPolygon(xy, m, m));
  }
  if (parts.empty()) return std::vector<uint8_t>(size_t(m) * m, 0);
  return DecodeRowMajor(*Merge(parts, /*intersect=*/false));
}

std::vector<uint8_t> RleTarget(const Rle& rle, const RoiBox& box, int32_t m) {
  // The pixels the bilinear samples can touch, with a one-pixel margin.
  const int32_t x0 = static_cast<int32_t>(std::floor(box.x1)) - 1;
  const int32_t y0 = static_cast<int32_t>(std::floor(box.y1)) - 1;
  const int32_t cw = static_cast<int32_t>(std::ceil(box.x2)) + 1 - x0;
  const int32_t ch = static_cast<int32_t>(std::ceil(box.y2)) + 1 - y0;
  const std::vector<uint8_t> crop = DecodeCrop(rle, x0, y0, cw, ch);
  auto at = [&](int32_t x, int32_t y) -> double {
    if (x < 0 || y < 0 || x >= cw || y >= ch) return 0.0;
    return crop[static_cast<size_t>(y) * cw + x];
  };
  const double bw = (box.x2 - box.x1) / m, bh = (box.y2 - box.y1) / m;
  std::vector<uint8_t> out(static_cast<size_t>(m) * m);
  for (int32_t i = 0; i < m; ++i) {
    // Continuous centre of the cell, then pixel-index space (centres at
    // integer + 0.5 become integers), relative to the crop.
    const double y = box.y1 + (i + 0.5) * bh - 0.5 - y0;
    const int32_t yi = static_cast<int32_t>(std::floor(y));
    const double fy = y - yi;
    for (int32_t j = 0; j < m; ++j) {
      const double x = box.x1 + (j + 0.5) * bw - 0.5 - x0;
      const int32_t xi = static_cast<int32_t>(std::floor(x));
      const double fx = x - xi;
      const double v =
          (1 - fy) * ((1 - fx) * at(xi, yi) + fx * at(xi + 1, yi)) +
          fy * ((1 - fx) * at(xi, yi + 1) + fx * at(xi + 1, yi + 1));
      out[static_cast<size_t>(i) * m + j] = v >= 0.5;
    }
  }
  return out;
}

}  // namespace

std::vector<uint8_t> DecodeCrop(const Rle& rle, int32_t x0, int32_t y0,
                                int32_t crop_width, int32_t crop_height) {
  std::vector<uint8_t> crop(
      static_cast<size_t>(std::max(crop_width, 0)) * std::max(crop_height, 0),
      0);
  if (rle.height <= 0 || crop.empty()) return crop;
  const uint64_t h = static_cast<uint64_t>(rle.height);
  const int32_t cx0 = std::max(x0, 0);
  const int32_t cx1 = std::min(x0 + crop_width, rle.width);
  const int32_t cy0 = std::max(y0, 0);
  const int32_t cy1 = std::min(y0 + crop_height, rle.height);
  if (cx0 >= cx1 || cy0 >= cy1) return crop;
  const uint64_t end_index = static_cast<uint64_t>(cx1) * h;
  uint64_t pos = 0;
  for (size_t j = 0; j < rle.counts.size() && pos < end_index; ++j) {
    const uint64_t start = pos;
    pos += rle.counts[j];
    if (j % 2 == 0) continue;  // a run of clear pixels
    // The set run [start, pos) column by column.
    for (uint64_t a = start; a < pos;) {
      const int64_t col = static_cast<int64_t>(a / h);
      if (col < cx0) {  // skip to the crop's first column
        a = std::min<uint64_t>(pos, static_cast<uint64_t>(cx0) * h);
        continue;
      }
      if (col >= cx1) break;
      const uint64_t col_end = std::min<uint64_t>(pos, (col + 1) * h);
      const int64_t r0 = std::max<int64_t>(a - col * h, cy0);
      const int64_t r1 = std::min<int64_t>(col_end - col * h, cy1);
      for (int64_t r = r0; r < r1; ++r) {
        crop[static_cast<size_t>(r - y0) * crop_width + (col - x0)] = 1;
      }
      a = col_end;
    }
  }
  return crop;
}

std::vector<uint8_t> MaskTarget(const Segmentation& s, const RoiBox& box,
                                int32_t m) {
  switch (s.kind) {
    case Segmentation::Kind::kPolygons:
      return PolygonTarget(s, box, m);
    case Segmentation::Kind::kRle:
      return RleTarget(s.rle, box, m);
    case Segmentation::Kind::kNone:
      break;
  }
  return std::vector<uint8_t>(static_cast<size_t>(m) * m, 0);
}

std::vector<uint8_t> ChipMaskTarget(const Segmentation& s, const ChipFrame& f,
                                    const RoiBox& roi, int32_t m) {
  double x1 = roi.x1, x2 = roi.x2;
  if (f.flipped) {
    x1 = f.window_width - roi.x2;
    x2 = f.window_width - roi.x1;
  }
  const RoiBox in_image{
      (x1 + f.offset_x) / f.scale, (roi.y1 + f.offset_y) / f.scale,
      (x2 + f.offset_x) / f.scale, (roi.y2 + f.offset_y) / f.scale};
  std::vector<uint8_t> t = MaskTarget(s, in_image, m);
  if (f.flipped) {
    for (int32_t i = 0; i < m; ++i) {
      std::reverse(t.begin() + static_cast<size_t>(i) * m,
                   t.begin() + static_cast<size_t>(i + 1) * m);
    }
  }
  return t;
}

}  // namespace sniper::masks
