// File: sniper/inference.h
//
// SNIPER's multi-scale inference (SNIPER.md section 8). For each test scale
// the whole resized image goes through the detector (as overlapping tiles
// when its longer side exceeds max_tile_side; a detection touching a tile
// border inside the image is left to the neighbouring tile, which holds the
// object whole), boxes go back to original pixels, those outside the
// scale's valid range [min, max) of sqrt(area) are dropped, the scales are
// pooled, and per-class NMS or Gaussian soft-NMS plus the score threshold
// and the top max_detections give the image's detections.
//
//   MultiScaleDetector detector(model, pipeline.eval, render, device, {});
//   ASSIGN_OR_RETURN(PreparedImage views, detector.Prepare(ds, dir, i));
//   ImageDetections dets = detector.Run(views);
//
// Prepare (decode and resample, CPU) and Run (the network) are separate so
// a caller can prepare the next image while the network runs on this one;
// Prepare is thread-safe.
#ifndef SNIPER_SNIPER_INFERENCE_H_
#define SNIPER_SNIPER_INFERENCE_H_

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/chip_render.h"
#include "data/chip_sampler.h"
#include "data/chips.h"
#include "data/coco_dataset.h"
#include "models/faster_rcnn.h"
#include "sniper/inference_options.h"

namespace sniper {

// One window of an image at one scale, rendered into a canvas whose sides
// are the window's rounded up to 32.
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

// Renders `window` of image `index` at scale `scale_index` of `sampler`
// (file errors name the file).
absl::StatusOr<ScaledView> RenderView(const data::CocoDataset& dataset,
                                      const std::string& image_dir,
                                      const data::ChipSampler& sampler,
                                      size_t index, int scale_index,
                                      const data::Chip& window,
                                      const data::ChipRenderOptions& render);

// Detections of one image, original pixels, on the CPU.
struct ImageDetections {
  torch::Tensor boxes;   // [N, 4] float32 x1, y1, x2, y2
  torch::Tensor scores;  // [N] float32, decreasing
  torch::Tensor labels;  // [N] int64, contiguous labels
};

// `model`'s detections of `images` (run on `device`, under autocast to
// `autocast` when set) for chips of valid (height, width) `sizes`; back on
// the CPU in float32.
std::vector<models::Detections> DetectOn(
    models::FasterRcnn& model, const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& sizes, torch::Device device,
    std::optional<c10::ScalarType> autocast);

// Per-class NMS or soft-NMS, score threshold, top max_detections.
ImageDetections MergeDetections(const ImageDetections& pooled,
                                const InferenceOptions& options);

struct PreparedImage {
  size_t index = 0;
  int32_t width = 0, height = 0;  // original pixels
  std::vector<ScaledView> views;
};

class MultiScaleDetector {
 public:
  // `model` is put in eval mode on `device`; `autocast` runs it in mixed
  // precision.
  MultiScaleDetector(models::FasterRcnn model, InferenceOptions options,
                     data::ChipRenderOptions render, torch::Device device,
                     std::optional<c10::ScalarType> autocast);

  absl::StatusOr<PreparedImage> Prepare(const data::CocoDataset& dataset,
                                        const std::string& image_dir,
                                        size_t index) const;
  ImageDetections Run(const PreparedImage& image);
  // Several images: views of the same scale run options().batch_size at a
  // time, padded to a common size (the same detections as one by one, up
  // to floating-point rounding).
  std::vector<ImageDetections> RunBatch(
      const std::vector<const PreparedImage*>& images);

  const InferenceOptions& options() const { return options_; }
  int64_t views_run() const { return views_run_; }
  int64_t pixels_run() const { return pixels_run_; }

 private:
  models::FasterRcnn model_;
  InferenceOptions options_;
  data::ChipRenderOptions render_;
  torch::Device device_;
  std::optional<c10::ScalarType> autocast_;
  data::ChipSampler sampler_;
  int64_t views_run_ = 0;
  int64_t pixels_run_ = 0;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_INFERENCE_H_
