// File: data/chip_render.h
//
// Crop-then-resize of one chip into its canvas (SNIPER.md section 5): the
// chip window [x1, x2) x [y1, y2) of the image scaled by `scale` is sampled
// bilinearly (half-pixel centres, edge clamp) from a decoded region, placed
// top-left on a chip_size x chip_size canvas, optionally mirrored
// horizontally within the window, normalized, and padded. Only the window
// is resampled: the scaled image is never materialized.
//
// Separable and table-driven: per output column and row, the two source
// indices and the weight are computed once; each output row blends two
// horizontally-interpolated source rows. No per-pixel virtual calls.
#ifndef SNIPER_DATA_CHIP_RENDER_H_
#define SNIPER_DATA_CHIP_RENDER_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "data/chips.h"
#include "data/image_decode.h"

namespace sniper::data {

enum class ChipLayout {
  kHwcUint8,    // [S, S, 3] uint8 RGB, padding = pad_value (GPU normalizes)
  kChwFloat32,  // [3, S, S] float32, (pixel - mean) / std, padding = 0
};

struct ChipRenderOptions {
  int32_t chip_size = 512;
  // Canvas size when not square (the single-scale baseline renders whole
  // images into W x H canvases); 0 = chip_size.
  int32_t canvas_width = 0;
  int32_t canvas_height = 0;
  int32_t width() const { return canvas_width > 0 ? canvas_width : chip_size; }
  int32_t height() const {
    return canvas_height > 0 ? canvas_height : chip_size;
  }
  ChipLayout layout = ChipLayout::kChwFloat32;
  float mean[3] = {123.675f, 116.28f, 103.53f};  // RGB, ImageNet
  float std[3] = {58.395f, 57.12f, 57.375f};
  uint8_t pad_value[3] = {124, 116, 104};  // the mean colour, for kHwcUint8
};

// Bytes of one canvas in `options.layout`.
size_t ChipCanvasBytes(const ChipRenderOptions& options);

// Renders `chip` (scaled pixels of an image at `scale`) from `region` into
// `out` (ChipCanvasBytes bytes, e.g. a slice of a batch tensor).
void RenderChip(const DecodedRegion& region, const Chip& chip, double scale,
                bool flip, const ChipRenderOptions& options, void* out);

// What RenderChip needs decoded for `chip` of an image at `at`: the chip's
// original pixels (floor/ceil of its sides over at.scale) at at.scale.
DecodeRequest ChipDecodeRequest(const ImageAtScale& at, const Chip& chip);

// Mirrors chip-coordinate boxes within a window of `window_width` (the
// pixel at u goes to window_width - 1 - u; a box [x1, x2) to
// [w - x2, w - x1)).
void FlipBoxes(std::vector<Box>* boxes, float window_width);

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_RENDER_H_
