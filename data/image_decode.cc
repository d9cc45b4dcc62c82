#include "data/image_decode.h"

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {0};
  int warnings = 0;
  char first_warning[JMSG_LENGTH_MAX] = {0};
};

void OnJpegError(j_common_ptr cinfo) {
  JpegError* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void OnJpegMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  JpegError* err = reinterpret_cast<JpegError*>(cinfo->err);
  if (err->warnings++ == 0) {
    (*cinfo->err->format_message)(cinfo, err->first_warning);
  }
}

absl::Status CheckDeclaredSize(const char* format, uint64_t width,
                               uint64_t height, absl::string_view source,
                               const DecodeRequest& req) {
  if (width == 0 || height == 0) {
    return absl::DataLossError(absl::StrCat(source, ": ", format,
                                            " declares an empty image (", width,
                                            "x", height, ")"));
  }
  if (width * height > static_cast<uint64_t>(req.max_pixels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", format, " declares ", width, "x", height, " = ",
        width * height, " pixels, more than the limit of ", req.max_pixels,
        " (data/image_decode.h: kMaxImagePixels); refused before decoding"));
  }
  return absl::OkStatus();
}

bool IsJpeg(absl::string_view b) {
  return b.size() >= 3 && static_cast<uint8_t>(b[0]) == 0xFF &&
         static_cast<uint8_t>(b[1]) == 0xD8 &&
         static_cast<uint8_t>(b[2]) == 0xFF;
}

bool IsPng(absl::string_view b) {
  static const char kSig[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
  return b.size() >= 8 && std::memcmp(b.data(), kSig, 8) == 0;
}

absl::StatusOr<DecodedRegion> DecodeJpeg(absl::string_view bytes,
                                         absl::string_view source,
                                         const DecodeRequest& req) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = OnJpegError;
  err.mgr.emit_message = OnJpegMessage;
  // Everything that must survive a longjmp lives outside this frame's
  // registers: the result is built in `out`.
  DecodedRegion out;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt JPEG (", err.message, ")"));
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  // Before jpeg_start_decompress: a progressive file's coefficient buffer
  // alone is 2 bytes per pixel and component.
  if (absl::Status s = CheckDeclaredSize("JPEG", cinfo.image_width,
                                         cinfo.image_height, source, req);
      !s.ok()) {
    jpeg_destroy_decompress(&cinfo);
    return s;
  }
  out.full_width = static_cast<int32_t>(cinfo.image_width);
  out.full_height = static_cast<int32_t>(cinfo.image_height);
  const int k = req.reduce ? DctScaleNumerator(req.scale) : 8;
  cinfo.scale_num = k;
  cinfo.scale_denom = 8;
  cinfo.out_color_space = JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&cinfo);
  out.factor = k / 8.0;
  const int32_t dw = static_cast<int32_t>(cinfo.output_width);
  const int32_t dh = static_cast<int32_t>(cinfo.output_height);
  // Window in decoded pixels, with one pixel of margin for bilinear taps.
  auto lo = [&](int32_t v, int32_t limit) {
    return std::clamp<int32_t>(
        static_cast<int32_t>(std::floor(std::max(v, 0) * out.factor)) - 1, 0,
        limit);
  };
  auto hi = [&](int32_t v, int32_t limit) {
    return std::clamp<int32_t>(
        static_cast<int32_t>(std::ceil(std::min<double>(v, 1e9) * out.factor)) +
            1,
        0, limit);
  };
  int32_t wx0 = req.reduce ? lo(req.x0, dw) : 0;
  int32_t wx1 = req.reduce ? hi(req.x1, dw) : dw;
  const int32_t wy0 = req.reduce ? lo(req.y0, dh) : 0;
  const int32_t wy1 = req.reduce ? hi(req.y1, dh) : dh;
  if (wx1 <= wx0 || wy1 <= wy0) {
    wx0 = 0;
    wx1 = std::max(1, dw);
  }
  JDIMENSION xoff = static_cast<JDIMENSION>(wx0);
  JDIMENSION width = static_cast<JDIMENSION>(std::max(1, wx1 - wx0));
  if (xoff != 0 || width != static_cast<JDIMENSION>(dw)) {
    jpeg_crop_scanline(&cinfo, &xoff, &width);  // widens to iMCU bounds
  }
  out.offset_x = static_cast<int32_t>(xoff);
  out.offset_y = wy0;
  if (wy0 > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(wy0));
  const int32_t rows = std::max(1, wy1 - wy0);
  out.image.width = static_cast<int32_t>(cinfo.output_width);
  out.image.height = rows;
  out.image.pixels.resize(static_cast<size_t>(out.image.width) * rows * 3);
  for (int32_t r = 0; r < rows; ++r) {
    JSAMPROW row =
        out.image.pixels.data() + static_cast<size_t>(r) * out.image.width * 3;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
      jpeg_destroy_decompress(&cinfo);
      return absl::DataLossError(
          absl::StrCat(source, ": JPEG ended at row ", wy0 + r));
    }
  }
  out.decoded_pixels = static_cast<int64_t>(out.image.width) * rows;
  // Rows after the window are not needed; abort rather than decode them.
  jpeg_abort_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.warnings > 0) {
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt JPEG data (", err.first_warning, ")"));
  }
  return out;
}

absl::StatusOr<DecodedRegion> DecodePng(absl::string_view bytes,
                                        absl::string_view source,
                                        const DecodeRequest& req) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt PNG (", png.message, ")"));
  }
  if (absl::Status s =
          CheckDeclaredSize("PNG", png.width, png.height, source, req);
      !s.ok()) {
    png_image_free(&png);
    return s;
  }
  png.format = PNG_FORMAT_RGB;
  DecodedRegion out;
  out.full_width = static_cast<int32_t>(png.width);
  out.full_height = static_cast<int32_t>(png.height);
  out.image.width = out.full_width;
  out.image.height = out.full_height;
  out.image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, out.image.pixels.data(), 0,
                             nullptr)) {
    png_image_free(&png);
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt PNG (", png.message, ")"));
  }
  out.decoded_pixels = static_cast<int64_t>(out.full_width) * out.full_height;
  return out;
}

absl::StatusOr<ImageSize> JpegSize(absl::string_view bytes,
                                   absl::string_view source) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = OnJpegError;
  err.mgr.emit_message = OnJpegMessage;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt JPEG header (", err.message, ")"));
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  ImageSize size;
  size.width = static_cast<int32_t>(cinfo.image_width);
  size.height = static_cast<int32_t>(cinfo.image_height);
  jpeg_destroy_decompress(&cinfo);
  return size;
}

// PNG's first chunk is IHDR (the specification requires it): length 13,
// then width and height as big-endian 32-bit integers.
absl::StatusOr<ImageSize> PngSize(absl::string_view bytes,
                                  absl::string_view source) {
  if (bytes.size() < 24 || bytes.substr(12, 4) != "IHDR") {
    return absl::DataLossError(
        absl::StrCat(source, ": corrupt PNG header (no IHDR chunk first)"));
  }
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
      v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
    }
    return v;
  };
  const uint32_t w = be32(16), h = be32(20);
  if (w > 0x7fffffffu || h > 0x7fffffffu) {
    return absl::DataLossError(absl::StrCat(
        source, ": corrupt PNG header (size ", w, "x", h, " out of range)"));
  }
  return ImageSize{static_cast<int32_t>(w), static_cast<int32_t>(h)};
}

}  // namespace

absl::StatusOr<ImageSize> ReadImageSize(absl::string_view bytes,
                                        absl::string_view source,
                                        int64_t max_pixels) {
  if (bytes.empty()) {
    return absl::DataLossError(absl::StrCat(source, ": empty file"));
  }
  absl::StatusOr<ImageSize> size =
      IsJpeg(bytes) ? JpegSize(bytes, source)
      : IsPng(bytes)
          ? PngSize(bytes, source)
          : absl::DataLossError(absl::StrCat(
                source, ": neither JPEG nor PNG (unknown signature)"));
  if (!size.ok()) return size;
  DecodeRequest limits;
  limits.max_pixels = max_pixels;
  RETURN_IF_ERROR(CheckDeclaredSize(IsJpeg(bytes) ? "JPEG" : "PNG", size->width,
                                    size->height, source, limits));
  return size;
}

absl::StatusOr<ImageSize> ReadImageFileSize(const std::string& path,
                                            int64_t max_pixels) {
  constexpr size_t kPrefix = 64 * 1024;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  std::string bytes(kPrefix, '\0');
  bytes.resize(std::fread(bytes.data(), 1, kPrefix, f));
  const bool whole = bytes.size() < kPrefix;
  std::fclose(f);
  // Nothing read: a directory or an empty file, which the whole-file reader
  // names.
  if (bytes.empty()) RETURN_IF_ERROR(ReadFileToString(path, &bytes));
  absl::StatusOr<ImageSize> size = ReadImageSize(bytes, path, max_pixels);
  // A JPEG whose frame header lies past the prefix reads as cut short.
  if (size.ok() || whole || !IsJpeg(bytes)) return size;
  RETURN_IF_ERROR(ReadFileToString(path, &bytes));
  return ReadImageSize(bytes, path, max_pixels);
}

int DctScaleNumerator(double scale) {
  if (!(scale < 1.0)) return 8;
  const int k = static_cast<int>(std::ceil(std::max(scale, 0.125) * 8 - 1e-9));
  return std::clamp(k, 1, 8);
}

absl::StatusOr<DecodedRegion> DecodeImageRegion(absl::string_view bytes,
                                                absl::string_view source,
                                                const DecodeRequest& request) {
  if (bytes.empty()) {
    return absl::DataLossError(absl::StrCat(source, ": empty file"));
  }
  if (IsJpeg(bytes)) return DecodeJpeg(bytes, source, request);
  if (IsPng(bytes)) return DecodePng(bytes, source, request);
  return absl::DataLossError(
      absl::StrCat(source, ": neither JPEG nor PNG (unknown signature)"));
}

absl::StatusOr<DecodedRegion> DecodeImageFileRegion(
    const std::string& path, const DecodeRequest& request) {
  std::string bytes;
  absl::Status status = ReadFileToString(path, &bytes);
  if (!status.ok()) return status;
  return DecodeImageRegion(bytes, path, request);
}

}  // namespace sniper::data
