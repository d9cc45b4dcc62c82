// File: inference/detector.h
//
// SNIPER's multi-scale inference (SNIPER.md section 8). For each test scale
// the whole resized image goes through the detector (as overlapping tiles
// when its longer side exceeds max_tile_side; a detection touching a tile
// border inside the image is left to the neighbouring tile, which holds the
// object whole), boxes go back to original pixels, those outside the
// scale's valid range [min, max) of sqrt(area) are dropped, the scales are
// pooled, and per-class NMS or Gaussian soft-NMS plus the score threshold
// and the top max_detections give the image's detections (merge.h).
//
// With options.autofocus (AutoFocus, ../shared/docs/AUTOFOCUS.md) the scales
// run coarse to fine: the coarsest over the whole image, each finer one
// only inside the FocusChips the previous scale's focus map gives
// (autofocus/focus_chips.h), batched; a detection touching a FocusChip's
// border inside the image is dropped, like a tile's.
//
// Proposals() is the raw mode SNIPER's proposals stage uses: the RPN's
// proposals at every scale, in image pixels, without ranges or merging.
//
//   ASSIGN_OR_RETURN(MultiScaleDetector detector,
//                    MultiScaleDetector::Create(model, options, render,
//                                               device, autocast));
//   ASSIGN_OR_RETURN(PreparedImage views,
//                    detector.Prepare(ImageOf(dataset, image_dir, i)));
//   ImageDetections dets = detector.Run(views);
//
// Prepare (decode and resample, CPU) and Run (the network) are separate so
// a caller can prepare the next image while the network runs on this one;
// Prepare is thread-safe.
#ifndef SNIPER_INFERENCE_DETECTOR_H_
#define SNIPER_INFERENCE_DETECTOR_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "autofocus/focus_chips.h"
#include "autofocus/focus_labels.h"
#include "autofocus/focus_trace.h"
#include "data/chip_render.h"
#include "data/chips.h"
#include "data/proposals.h"
#include "inference/batch_plan.h"
#include "inference/merge.h"
#include "inference/options.h"
#include "inference/views.h"
#include "models/faster_rcnn.h"

namespace sniper::inference {

// `model`'s detections of `images` (run on `device`, under autocast to
// `autocast` when set; channels-last on a CPU) for chips of valid
// (height, width) `sizes`; back on the CPU in float32.
std::vector<models::Detections> DetectOn(
    models::FasterRcnn& model, const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& sizes, torch::Device device,
    std::optional<c10::ScalarType> autocast,
    const ops::ProposalOptions* proposals = nullptr,
    const std::vector<models::ProposalSizeRange>* proposal_sizes = nullptr);

struct PreparedImage {
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
// `labels`' rule makes positive (on its stride's grid) for `boxes`
// (original pixels) scaled by at.scale, 0 elsewhere (don't care included).
autofocus::FocusMap GroundTruthFocusMap(
    const std::vector<autofocus::LabelBox>& boxes, const data::ImageAtScale& at,
    const autofocus::FocusLabelOptions& labels);

// What AutoFocus did at one scale of one image (pictures, tests).
using FocusStep = autofocus::FocusStep;

// What inference cost, per image: network pixels (canvases, their padding
// included) and views, in total and per test scale; the batches' input
// pixels (padding to each batch's common size included).
struct InferenceCost {
  bool autofocus = false;
  double pixels_per_image = 0;
  double canvas_pixels_per_image = 0;
  std::vector<double> pixels_per_scale, views_per_scale;
};

// "AutoFocus: 0.866 M network pixels per image (scale 0: 0.545 M in 1.00
// views, ...)"; full inference says "every scale over the whole image";
// batches padded beyond their views add "; batches padded to 0.902 M".
std::string FormatInferenceCost(const InferenceCost& cost);

class MultiScaleDetector {
 public:
  // `model` goes to `device` in eval mode (its backbone's batch norm with
  // per-batch statistics when options say so); `autocast` runs it in mixed
  // precision. AutoFocus needs the model's focus branch unless the maps
  // come from the ground truth, and one step per test scale but the finest.
  static absl::StatusOr<MultiScaleDetector> Create(
      models::FasterRcnn model, InferenceOptions options,
      data::ChipRenderOptions render, torch::Device device,
      std::optional<c10::ScalarType> autocast);

  absl::StatusOr<PreparedImage> Prepare(const ImageSource& image) const;
  ImageDetections Run(const PreparedImage& image);
  // Several images: views of the same scale run up to options().batch_size
  // at a time, sorted by shape and padded to a common size, a batch's
  // padding at most options().max_batch_padding of its pixels
  // (inference/batch_plan.h); the same detections as one by one, up to
  // floating-point rounding.
  // `trace` (optional, AutoFocus only): per image, one FocusStep per scale.
  std::vector<ImageDetections> RunBatch(
      const std::vector<const PreparedImage*>& images,
      std::vector<std::vector<FocusStep>>* trace = nullptr);
  // Raw mode (full inference only): per test scale, the boxes the model
  // returns for each view (an RPN-only model: its test proposals), in
  // original pixels, unclipped, unfiltered, one view at a time.
  std::vector<std::vector<data::ScoredBox>> Proposals(
      const PreparedImage& image);

  const InferenceOptions& options() const { return options_; }
  // How RunBatch batches views: options().batch_size views at most,
  // max_batch_padding, and max_batch_pixels or, when 0, the device's
  // default (kCpuBatchPixels on a CPU, no limit on a GPU).
  const BatchLimits& batch_limits() const { return batch_limits_; }
  // How many images a caller should hand RunBatch at once:
  // options().batch_size, except full inference on a CPU with the
  // default canvas limit, where 1: there every whole-image view but the
  // smallest runs alone anyway and preparing several images ahead only
  // evicts their pixels from the caches (batch 4 ran 0.79-0.94x as fast
  // per image as batch 1; docs/INFERENCE.md). AutoFocus batches its
  // FocusChips across images, so it keeps batch_size.
  int64_t images_per_batch() const { return images_per_batch_; }
  // Views' canvas sides are multiples of this: options().canvas_multiple
  // or, when 0, the device's default (kCpuCanvasMultiple on a CPU,
  // kGpuCanvasMultiple on a GPU).
  int32_t canvas_multiple() const { return canvas_multiple_; }
  // The model's feature stride: focus maps' cells are this many pixels.
  int32_t feature_stride() const { return stride_; }
  int64_t views_run() const { return views_run_; }
  int64_t pixels_run() const { return pixels_run_; }
  // The network's input pixels: pixels_run() plus the padding of views to
  // their batch's common size.
  int64_t canvas_pixels_run() const { return canvas_pixels_run_; }
  // Network pixels (canvas, padding to canvas_multiple() included) and
  // views run per test scale, in options().scales order.
  const std::vector<int64_t>& pixels_per_scale() const {
    return pixels_per_scale_;
  }
  const std::vector<int64_t>& views_per_scale() const {
    return views_per_scale_;
  }
  // Everything run so far over `images` images.
  InferenceCost Cost(int64_t images) const;

 private:
  MultiScaleDetector(models::FasterRcnn model, InferenceOptions options,
                     data::ChipRenderOptions render, torch::Device device,
                     std::optional<c10::ScalarType> autocast);

  struct Pooled {
    std::vector<torch::Tensor> boxes, scores, labels, masks;
  };
  struct Item {
    size_t image;
    const ScaledView* view;
  };
  // Runs `items` in batches (PlanBatches), appending each view's kept
  // detections to (*pooled)[item.image] in the items' order; with `focus`,
  // each item's focus map over its window.
  void RunViews(const std::vector<Item>& items,
                const std::vector<const PreparedImage*>& images,
                std::vector<Pooled>* pooled,
                std::vector<autofocus::FocusMap>* focus);
  // One batch of RunViews: the network's detections of `views`.
  std::vector<models::Detections> DetectBatch(
      const std::vector<const ScaledView*>& views);
  void CountView(const ScaledView& v);
  // The sizes of `v`'s proposals that reach the RCNN head (chip pixels):
  // its scale's valid range widened by options().proposal_size_margin.
  models::ProposalSizeRange ProposalSizes(const ScaledView& v) const;
  // The whole-view proposal counts of a batch: the model's test proposals
  // with the largest of its views' scales' test_post_nms_top_n (a scale
  // left unset counting as the model's) when any view's scale sets one.
  ops::ProposalOptions ScaleProposals(
      const std::vector<const ScaledView*>& views) const;
  // Appends a view's detections to `out`: those its window did not cut
  // (tiles, FocusChips), in original pixels, inside the scale's range.
  void PoolDetections(const ScaledView& v, const PreparedImage& image,
                      const models::Detections& d, Pooled* out) const;
  ImageDetections Merged(Pooled& pooled) const;
  data::ImageAtScale AtScale(int scale_index, int32_t width,
                             int32_t height) const;
  // AutoFocus (inference/autofocus.cc): the scale order, decodes and
  // ground truth Prepare keeps; the coarse-to-fine loop, one scale rank at
  // a time: the step it took and the next rank's FocusChip views.
  absl::Status PrepareAutoFocus(const ImageSource& image,
                                const std::vector<data::ImageAtScale>& at,
                                PreparedImage* out) const;
  void RunAutoFocus(const std::vector<const PreparedImage*>& images,
                    std::vector<Pooled>* pooled,
                    std::vector<std::vector<FocusStep>>* trace);
  FocusStep AutoFocusStep(const PreparedImage& image, size_t image_index,
                          size_t rank, const std::vector<Item>& items,
                          const std::vector<autofocus::FocusMap>& maps) const;

  models::FasterRcnn model_;
  InferenceOptions options_;
  data::ChipRenderOptions render_;
  torch::Device device_;
  std::optional<c10::ScalarType> autocast_;
  int32_t stride_ = 16;
  BatchLimits batch_limits_;  // options_ resolved for device_
  int32_t canvas_multiple_ = kGpuCanvasMultiple;
  int64_t images_per_batch_ = 1;
  int64_t views_run_ = 0;
  int64_t pixels_run_ = 0;
  int64_t canvas_pixels_run_ = 0;
  std::vector<int64_t> pixels_per_scale_, views_per_scale_;
};

}  // namespace sniper::inference

#endif  // SNIPER_INFERENCE_DETECTOR_H_
