// File: data/image_decode.h
//
// Decoding only what a chip needs. A SNIPER chip at scale s covers a window
// of chip_size / s original pixels, so:
//   - at s < 1 (coarse chips) the JPEG is decoded directly at the smallest
//     DCT scale k/8 >= s (libjpeg-turbo scales inside the IDCT: 1/2 decodes
//     about 4x fewer pixels);
//   - at s > 1 (fine chips) only the rows and the iMCU-aligned columns of
//     the window are decoded (jpeg_skip_scanlines / jpeg_crop_scanline).
// PNG files (libpng) are decoded whole. The format is taken from the file's
// signature, not its name. Corrupt data is an error: libjpeg-turbo's
// warnings (premature end of data, corrupt entropy data) become DataLoss
// naming the file, never a half-grey image.
#ifndef SNIPER_DATA_IMAGE_DECODE_H_
#define SNIPER_DATA_IMAGE_DECODE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/image_io.h"

namespace sniper::data {

// Images whose header declares more pixels than this are refused before
// any pixel buffer is allocated: a 677-byte JPEG can declare 65500x65500
// (12.9 GB of RGB). 2^28 is 16384 x 16384, far above any detection dataset
// image we know of; raise DecodeRequest::max_pixels for bigger ones.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

struct DecodeRequest {
  // The scale the pixels will be resampled to; decoding may reduce by any
  // DCT factor k/8 >= min(max(scale, 1/8), 1).
  double scale = 1.0;
  // Window of ORIGINAL pixels needed, [x0, x1) x [y0, y1); clipped to the
  // image. Default: everything.
  int32_t x0 = 0, y0 = 0, x1 = 1 << 30, y1 = 1 << 30;
  // Use DCT scaling / region decoding (off: decode everything at 1x).
  bool reduce = true;
  // Declared width x height above this: InvalidArgument naming the file and
  // the declared size, before decoding.
  int64_t max_pixels = kMaxImagePixels;
};

struct DecodedRegion {
  RgbImage image;          // the decoded pixels
  int32_t full_width = 0;  // original image size
  int32_t full_height = 0;
  double factor = 1.0;  // decoded pixels per original pixel (k/8)
  // Position of image's pixel (0, 0) in the full decoded-at-factor image.
  int32_t offset_x = 0, offset_y = 0;
  int64_t decoded_pixels = 0;  // pixels produced by the decoder
};

// Decodes `bytes` (JPEG or PNG); `source` names it in errors.
absl::StatusOr<DecodedRegion> DecodeImageRegion(absl::string_view bytes,
                                                absl::string_view source,
                                                const DecodeRequest& request);

// Reads and decodes a file.
absl::StatusOr<DecodedRegion> DecodeImageFileRegion(
    const std::string& path, const DecodeRequest& request);

// An image's size as its header declares it.
struct ImageSize {
  int32_t width = 0;
  int32_t height = 0;
};

// The size `bytes` (a JPEG or PNG file, or its first bytes) declares,
// read from the header without decoding any pixel: libjpeg-turbo's header
// reader for JPEG (it stops at the frame header), the IHDR chunk for PNG.
// A header cut short, an empty size or an unknown signature is DataLoss
// naming `source`; a size over `max_pixels` is InvalidArgument.
absl::StatusOr<ImageSize> ReadImageSize(absl::string_view bytes,
                                        absl::string_view source,
                                        int64_t max_pixels = kMaxImagePixels);

// The same for a file, reading only its first 64 KiB unless the JPEG
// header runs past them (large EXIF or ICC segments).
absl::StatusOr<ImageSize> ReadImageFileSize(
    const std::string& path, int64_t max_pixels = kMaxImagePixels);

// The DCT numerator k (of k/8) used for `scale`.
int DctScaleNumerator(double scale);

}  // namespace sniper::data

#endif  // SNIPER_DATA_IMAGE_DECODE_H_
