// File: masks/testing/shapes.h
//
// Shapes for the masks tests: polygons as the flat x, y lists the COCO
// format (and masks/polygon.h) use.
#ifndef SNIPER_MASKS_TESTING_SHAPES_H_
#define SNIPER_MASKS_TESTING_SHAPES_H_

#include <cmath>
#include <vector>

namespace sniper::masks::testing {

// A disc of radius r around (cx, cy) as a regular n-gon.
inline std::vector<double> DiscPolygon(double cx, double cy, double r, int n) {
  std::vector<double> xy;
  for (int k = 0; k < n; ++k) {
    xy.push_back(cx + r * std::cos(2 * M_PI * k / n));
    xy.push_back(cy + r * std::sin(2 * M_PI * k / n));
  }
  return xy;
}

}  // namespace sniper::masks::testing

#endif  // SNIPER_MASKS_TESTING_SHAPES_H_
