// File: inference/views.h
//
// What multi-scale inference runs the network on: an image (a file and its
// size, from a dataset or straight from disk) seen at a test scale through
// windows (the whole scaled image, tiles of a large one, AutoFocus's
// FocusChips), each rendered into a canvas whose sides are the window's
// rounded up to a multiple of 32 (eval.canvas_multiple: few distinct
// canvas shapes, so that the CPU's convolution kernels, built per shape,
// are reused).
//
//   ASSIGN_OR_RETURN(ImageSource image, ImageOfFile("photo.jpg"));
//   for (const data::Chip& w : ViewWindows(at, /*max_tile_side=*/0, 0)) {
//     ASSIGN_OR_RETURN(ScaledView v,
//                      RenderView(image, at, s, w, render, /*multiple=*/32));
//   }
#ifndef SNIPER_INFERENCE_VIEWS_H_
#define SNIPER_INFERENCE_VIEWS_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autofocus/focus_labels.h"
#include "data/chip_render.h"
#include "data/chips.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"

namespace sniper::inference {

// eval.canvas_multiple's default on a CPU (on a GPU: 32).
inline constexpr int32_t kCpuCanvasMultiple = 128;
inline constexpr int32_t kGpuCanvasMultiple = 32;

// An image to detect objects in.
struct ImageSource {
  std::string path;               // JPEG or PNG
  int32_t width = 0, height = 0;  // original pixels, as the file says
  // Its boxes, original pixels (AutoFocus with ground_truth_focus reads
  // them; empty otherwise).
  std::vector<autofocus::LabelBox> ground_truth;
};

// Image `index` of `dataset`, its file under `image_dir`, with its boxes.
ImageSource ImageOf(const data::CocoDataset& dataset,
                    const std::string& image_dir, size_t index);

// A file on its own: its size from a reduced decode (errors name the file).
absl::StatusOr<ImageSource> ImageOfFile(const std::string& path);

// One window of an image at one scale, rendered into a canvas whose sides
// are the window's rounded up to a multiple of 32.
struct ScaledView {
  torch::Tensor pixels;  // [1, 3, H, W] float32, normalized
  int scale_index = 0;
  data::ImageAtScale at;
  data::Chip window;  // scaled pixels
};

// The windows that cover the scaled image: the whole image, or tiles of at
// most max_tile_side with `overlap` (max_tile_side 0: never tile).
std::vector<data::Chip> ViewWindows(const data::ImageAtScale& at,
                                    int32_t max_tile_side, int32_t overlap);
// The same for a region of the scaled image (a FocusChip).
std::vector<data::Chip> RegionWindows(const data::Chip& region,
                                      int32_t max_tile_side, int32_t overlap);

// `window` grown to the canvas it is rendered into (sides rounded up to
// `multiple`), about its centre and shifted to lie inside the scaled image
// (width x height; no larger than it): a FocusChip sees the context the
// padding would have zeroed, at no extra network pixels.
data::Chip GrowToCanvas(const data::Chip& window, int32_t multiple,
                        int32_t width, int32_t height);

// Decodes `request` of `image`'s file; a file whose size differs from
// image.width x image.height is an error naming it.
absl::StatusOr<data::DecodedRegion> DecodeImage(
    const ImageSource& image, const data::DecodeRequest& request);

// Renders `window` of an image at scale `scale_index` from `decoded` (the
// image decoded for that scale and window) into a canvas whose sides are
// the window's rounded up to `canvas_multiple` (a positive multiple of 32).
ScaledView RenderViewFrom(const data::DecodedRegion& decoded,
                          const data::ImageAtScale& at, int scale_index,
                          const data::Chip& window,
                          const data::ChipRenderOptions& render,
                          int32_t canvas_multiple);

// Decodes what `window` needs (data::ChipDecodeRequest) and renders it.
absl::StatusOr<ScaledView> RenderView(const ImageSource& image,
                                      const data::ImageAtScale& at,
                                      int scale_index, const data::Chip& window,
                                      const data::ChipRenderOptions& render,
                                      int32_t canvas_multiple);

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_VIEWS_H_
