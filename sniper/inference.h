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
// With options.autofocus (AutoFocus, ../shared/docs/AUTOFOCUS.md) the scales
// run coarse to fine: the coarsest over the whole image, each finer one
// only inside the FocusChips the previous scale's focus map gives
// (autofocus/focus_chips.h), batched; a detection touching a FocusChip's
// border inside the image is dropped, like a tile's.
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

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autofocus/focus_chips.h"
#include "autofocus/focus_labels.h"
#include "autofocus/focus_trace.h"
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
// The same for a region of the scaled image (a FocusChip).
std::vector<data::Chip> RegionWindows(const data::Chip& region,
                                      int32_t max_tile_side, int32_t overlap);

// Renders `window` of image `index` at scale `scale_index` of `sampler`
// (file errors name the file).
// Renders `window` of an image at scale `scale_index` from `decoded` (the
// image decoded for that scale).
ScaledView RenderViewFrom(const data::DecodedRegion& decoded,
                          const data::ImageAtScale& at, int scale_index,
                          const data::Chip& window,
                          const data::ChipRenderOptions& render);

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
  // With the mask branch: [N, M, M] float32, each detection's mask
  // probabilities on a grid over its box (masks/paste.h puts them into the
  // image); undefined without it.
  torch::Tensor masks;
};

// `model`'s detections of `images` (run on `device`, under autocast to
// `autocast` when set) for chips of valid (height, width) `sizes`; back on
// the CPU in float32.
std::vector<models::Detections> DetectOn(
    models::FasterRcnn& model, const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& sizes, torch::Device device,
    std::optional<c10::ScalarType> autocast,
    const ops::ProposalOptions* proposals = nullptr);

// AutoFocus's proposal budget for a window covering `area_fraction` of its
// scaled image: `image`'s counts times the fraction, rounded up, at least
// `min_post_nms` after NMS (and as many before); 0 or a whole image: `image`.
ops::ProposalOptions ChipProposals(const ops::ProposalOptions& image,
                                   double area_fraction, int64_t min_post_nms);

// Per-class NMS or soft-NMS, score threshold, top max_detections; masks
// (when pooled has them) follow their boxes.
ImageDetections MergeDetections(const ImageDetections& pooled,
                                const InferenceOptions& options);

struct PreparedImage {
  size_t index = 0;
  int32_t width = 0, height = 0;  // original pixels
  // Full inference: every scale's views. AutoFocus: the coarsest scale's.
  std::vector<ScaledView> views;
  // AutoFocus: test scale indices, coarsest first, and per scale index the
  // image decoded as that scale's windows need it (null for the coarsest),
  // so FocusChips render without reading the file again.
  std::vector<int> scale_order;
  std::vector<std::shared_ptr<const data::DecodedRegion>> decoded;
  // AutoFocus with ground_truth_focus: the image's boxes, original pixels.
  std::vector<autofocus::LabelBox> ground_truth;
};

// The ground-truth focus map of an image at scale `at`: 1 on the cells
// `labels`' rule makes positive for `boxes` (original pixels) scaled by
// at.scale, 0 elsewhere (don't care included).
autofocus::FocusMap GroundTruthFocusMap(
    const std::vector<autofocus::LabelBox>& boxes, const data::ImageAtScale& at,
    const autofocus::FocusLabelOptions& labels);

// What AutoFocus did at one scale of one image (pictures, tests).
using FocusStep = autofocus::FocusStep;

class MultiScaleDetector {
 public:
  static constexpr int32_t kFeatureStride = 16;  // the model's features

  // `model` is put in eval mode on `device`; `autocast` runs it in mixed
  // precision. AutoFocus needs its focus branch unless the maps come from
  // the ground truth.
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
  // `trace` (optional, AutoFocus only): per image, one FocusStep per scale.
  std::vector<ImageDetections> RunBatch(
      const std::vector<const PreparedImage*>& images,
      std::vector<std::vector<FocusStep>>* trace = nullptr);

  const InferenceOptions& options() const { return options_; }
  int64_t views_run() const { return views_run_; }
  int64_t pixels_run() const { return pixels_run_; }
  // Network pixels (canvas, padding to 32 included) and views run per test
  // scale, in options().scales order.
  const std::vector<int64_t>& pixels_per_scale() const {
    return pixels_per_scale_;
  }
  const std::vector<int64_t>& views_per_scale() const {
    return views_per_scale_;
  }

 private:
  struct Pooled {
    std::vector<torch::Tensor> boxes, scores, labels, masks;
  };
  struct Item {
    size_t image;
    const ScaledView* view;
  };
  // Runs `items` batch_size at a time (padded to a common size), appending
  // each view's kept detections to (*pooled)[item.image]; with `focus`,
  // each item's focus map over its window.
  void RunViews(const std::vector<Item>& items,
                const std::vector<const PreparedImage*>& images,
                std::vector<Pooled>* pooled,
                std::vector<autofocus::FocusMap>* focus);
  // Appends a view's detections to `out`: those its window did not cut
  // (tiles, FocusChips), in original pixels, inside the scale's range.
  void PoolDetections(const ScaledView& v, const PreparedImage& image,
                      const models::Detections& d, Pooled* out) const;
  // AutoFocus (sniper/inference_autofocus.cc): the scale order, decodes
  // and ground truth Prepare keeps; the coarse-to-fine loop.
  absl::Status PrepareAutoFocus(const data::CocoDataset& dataset,
                                const std::string& image_dir,
                                const std::vector<data::ImageAtScale>& at,
                                PreparedImage* out) const;
  void RunAutoFocus(const std::vector<const PreparedImage*>& images,
                    std::vector<Pooled>* pooled,
                    std::vector<std::vector<FocusStep>>* trace);

  models::FasterRcnn model_;
  InferenceOptions options_;
  data::ChipRenderOptions render_;
  torch::Device device_;
  std::optional<c10::ScalarType> autocast_;
  data::ChipSampler sampler_;
  int64_t views_run_ = 0;
  int64_t pixels_run_ = 0;
  std::vector<int64_t> pixels_per_scale_, views_per_scale_;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_INFERENCE_H_
