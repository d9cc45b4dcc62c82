// File: viz/testing_util.h
//
// Pixel counting for viz/ tests.
#ifndef SNIPER_VIZ_TESTING_UTIL_H_
#define SNIPER_VIZ_TESTING_UTIL_H_

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

}  // namespace sniper::viz::testing

#endif  // SNIPER_VIZ_TESTING_UTIL_H_
