// File: data/image_io.h
//
// The RGB image type of data/ and PNG writing (libpng). RGB, 8 bits per
// channel, row-major, no padding. Decoding lives in data/image_decode.h.
#ifndef SNIPER_DATA_IMAGE_IO_H_
#define SNIPER_DATA_IMAGE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sniper::data {

struct RgbImage {
  int32_t width = 0;
  int32_t height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3

  uint8_t* at(int32_t x, int32_t y) {
    return pixels.data() + (static_cast<size_t>(y) * width + x) * 3;
  }
};

// Writes `image` as PNG, atomically (temp file, fsync, rename).
absl::Status WritePngFile(const std::string& path, const RgbImage& image);

}  // namespace sniper::data

#endif  // SNIPER_DATA_IMAGE_IO_H_
