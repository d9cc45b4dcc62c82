// File: viz/testing_util.h
//
// Pixel counting for viz/ tests: exact colours, and colours within a
// tolerance (antialiased drawing).
#ifndef SNIPER_VIZ_TESTING_UTIL_H_
#define SNIPER_VIZ_TESTING_UTIL_H_

#include <algorithm>
#include <cstdlib>

#include "data/image_io.h"
#include "viz/draw.h"

namespace sniper::viz::testing {

inline int CountColor(const data::RgbImage& image, Color c) {
  int n = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    n += image.pixels[i] == c[0] && image.pixels[i + 1] == c[1] &&
         image.pixels[i + 2] == c[2];
  }
  return n;
}

// Pixels within `tolerance` of `c` in every channel (antialiased edges).
inline int CountNear(const data::RgbImage& image, Color c, int tolerance) {
  int n = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    bool near = true;
    for (int k = 0; k < 3; ++k) {
      near = near && std::abs(image.pixels[i + k] - c[k]) <= tolerance;
    }
    n += near;
  }
  return n;
}

// Pixels of `image` in columns [x1, x2) within `tolerance` of `c`.
inline int CountNearInColumns(const data::RgbImage& image, Color c,
                              int tolerance, int x1, int x2) {
  int n = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = std::max(x1, 0); x < std::min(x2, image.width); ++x) {
      const uint8_t* p =
          image.pixels.data() + (static_cast<size_t>(y) * image.width + x) * 3;
      n += std::abs(p[0] - c[0]) <= tolerance &&
           std::abs(p[1] - c[1]) <= tolerance &&
           std::abs(p[2] - c[2]) <= tolerance;
    }
  }
  return n;
}

// Pixels darker than mid grey (ink on a light background).
inline int CountDark(const data::RgbImage& image) {
  int n = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    n += image.pixels[i] + image.pixels[i + 1] + image.pixels[i + 2] < 3 * 128;
  }
  return n;
}

}  // namespace sniper::viz::testing

#endif  // SNIPER_VIZ_TESTING_UTIL_H_
