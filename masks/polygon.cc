// File: masks/polygon.cc
#include "masks/polygon.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace sniper::masks {
namespace {

constexpr double kFine = 5;  // fine grid steps per pixel

struct FinePoint {
  int x, y;
};

// C's conversion (truncation toward zero), as the reference rounds with
// (int)(v + .5) also for negative coordinates.
int Truncate(double v) { return static_cast<int>(v); }

// Every fine-grid point of the closed boundary, edge by edge, each edge
// traced from its lower end along its major axis (the reference's order:
// an edge traced "backwards" visits its points from the far end).
std::vector<FinePoint> TraceBoundary(absl::Span<const double> xy) {
  const size_t k = xy.size() / 2;
  std::vector<FinePoint> vertices(k + 1);
  for (size_t j = 0; j < k; ++j) {
    vertices[j] = {Truncate(kFine * xy[2 * j] + .5),
                   Truncate(kFine * xy[2 * j + 1] + .5)};
  }
  if (k > 0) vertices[k] = vertices[0];
  std::vector<FinePoint> boundary;
  for (size_t j = 0; j < k; ++j) {
    int xs = vertices[j].x, xe = vertices[j + 1].x;
    int ys = vertices[j].y, ye = vertices[j + 1].y;
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool along_x = dx >= dy;
    const bool flip = (along_x && xs > xe) || (!along_x && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    if (dx == 0 && dy == 0) {
      // A repeated vertex: one point. (The reference divides 0 by 0 here;
      // the point's y is never used, as its x equals its neighbours'.)
      boundary.push_back({xs, ys});
      continue;
    }
    const double slope = along_x ? static_cast<double>(ye - ys) / dx
                                 : static_cast<double>(xe - xs) / dy;
    const int steps = along_x ? dx : dy;
    for (int d = 0; d <= steps; ++d) {
      const int t = flip ? steps - d : d;
      if (along_x) {
        boundary.push_back({t + xs, Truncate(ys + slope * t + .5)});
      } else {
        boundary.push_back({Truncate(xs + slope * t + .5), t + ys});
      }
    }
  }
  return boundary;
}

}  // namespace

Rle RleFromPolygon(absl::Span<const double> xy, int32_t height, int32_t width) {
  const std::vector<FinePoint> boundary = TraceBoundary(xy);
  // Where the boundary crosses a pixel column's centre: the column-major
  // index of the first pixel at or below the crossing, which toggles.
  const uint32_t h = static_cast<uint32_t>(std::max(height, 0));
  const uint32_t pixels = h * static_cast<uint32_t>(std::max(width, 0));
  std::vector<uint32_t> toggles;
  for (size_t j = 1; j < boundary.size(); ++j) {
    const FinePoint& a = boundary[j - 1];
    const FinePoint& b = boundary[j];
    if (a.x == b.x) continue;
    double xd = b.x < a.x ? b.x : b.x - 1;
    xd = (xd + .5) / kFine - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > static_cast<double>(width) - 1) {
      continue;
    }
    double yd = b.y < a.y ? b.y : a.y;
    yd = (yd + .5) / kFine - .5;
    yd = std::ceil(std::clamp(yd, 0.0, static_cast<double>(height)));
    toggles.push_back(static_cast<uint32_t>(static_cast<int>(xd)) * h +
                      static_cast<uint32_t>(static_cast<int>(yd)));
  }
  toggles.push_back(pixels);
  std::sort(toggles.begin(), toggles.end());
  // Toggle positions to runs; two toggles at one position cancel: a zero
  // run joins its neighbours.
  std::vector<uint32_t> runs(toggles.size());
  uint32_t previous = 0;
  for (size_t j = 0; j < toggles.size(); ++j) {
    runs[j] = toggles[j] - previous;
    previous = toggles[j];
  }
  Rle rle{height, width, {runs[0]}};
  for (size_t j = 1; j < runs.size();) {
    if (runs[j] > 0) {
      rle.counts.push_back(runs[j++]);
    } else if (++j < runs.size()) {
      rle.counts.back() += runs[j++];
    }
  }
  return rle;
}

Rle RleFromBox(double x, double y, double w, double h, int32_t height,
               int32_t width) {
  const double xe = x + w, ye = y + h;
  const double corners[8] = {x, y, x, ye, xe, ye, xe, y};
  return RleFromPolygon(corners, height, width);
}

}  // namespace sniper::masks
