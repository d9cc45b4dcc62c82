// File: data/testing/test_images.h
//
// Images for tests: seeded random pixels and JPEG encoding (TurboJPEG).
// Test-only.
#ifndef SNIPER_DATA_TESTING_TEST_IMAGES_H_
#define SNIPER_DATA_TESTING_TEST_IMAGES_H_

#include <turbojpeg.h>

#include <cstdint>
#include <random>
#include <string>

#include "data/image_io.h"
#include "gtest/gtest.h"

namespace sniper::data::testing {

inline RgbImage RandomImage(int32_t w, int32_t h, uint32_t seed) {
  std::mt19937 rng(seed);
  RgbImage im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (auto& p : im.pixels) p = static_cast<uint8_t>(rng() % 256);
  return im;
}

// Baseline JPEG, 4:4:4.
inline std::string EncodeJpeg(const RgbImage& im, int quality = 95) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(tj, im.pixels.data(), im.width, 0, im.height, TJPF_RGB,
                        &buf, &size, TJSAMP_444, quality, TJFLAG_ACCURATEDCT),
            0);
  std::string out(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

}  // namespace sniper::data::testing

#endif  // SNIPER_DATA_TESTING_TEST_IMAGES_H_
