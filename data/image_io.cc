#include "data/image_io.h"

#include <png.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "port/proto_io.h"

namespace sniper::data {

absl::Status WritePngFile(const std::string& path, const RgbImage& image) {
  // Encode into memory, then write atomically.
  std::string out;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return absl::InternalError("png_create_write_struct");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return absl::InternalError(absl::StrCat(path, ": PNG encoding failed"));
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))
            ->append(reinterpret_cast<const char*>(data), n);
      },
      nullptr);
  png_set_IHDR(png, info, image.width, image.height, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int32_t y = 0; y < image.height; ++y) {
    png_write_row(
        png, const_cast<png_bytep>(image.pixels.data() +
                                   static_cast<size_t>(y) * image.width * 3));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return WriteFileAtomically(path, out);
}

}  // namespace sniper::data
