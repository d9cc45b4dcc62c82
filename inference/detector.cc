#include "inference/detector.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autofocus/focus_chips.h"
#include "inference/batch_plan.h"
#include "port/large_block_allocator.h"
#include "port/status_macros.h"
#include "port/torch_compat.h"

namespace sniper::inference {
namespace {

// A detection this close to a window side inside the image was cut by it.
constexpr double kBorderMargin = 2.0;

// The rows of `boxes` (window pixels, [N, 4]) the window `v` did not cut.
torch::Tensor UncutRows(const ScaledView& v, const torch::Tensor& boxes) {
  const autofocus::PixelBox chip{
      static_cast<double>(v.window.x1), static_cast<double>(v.window.y1),
      static_cast<double>(v.window.x2), static_cast<double>(v.window.y2)};
  const float* bp = boxes.data_ptr<float>();
  std::vector<int64_t> kept;
  for (int64_t k = 0; k < boxes.size(0); ++k) {
    const autofocus::PixelBox d{chip.x1 + bp[4 * k], chip.y1 + bp[4 * k + 1],
                                chip.x1 + bp[4 * k + 2],
                                chip.y1 + bp[4 * k + 3]};
    if (!autofocus::CutByChipBorder(d, chip, v.at.scaled_width,
                                    v.at.scaled_height, kBorderMargin)) {
      kept.push_back(k);
    }
  }
  return torch::tensor(kept, torch::kInt64);
}

// Window pixels -> original pixels.
torch::Tensor ToImagePixels(const ScaledView& v, const torch::Tensor& boxes) {
  const torch::Tensor offset = torch::tensor(
      {static_cast<float>(v.window.x1), static_cast<float>(v.window.y1),
       static_cast<float>(v.window.x1), static_cast<float>(v.window.y1)});
  return (boxes + offset) / v.at.scale;
}

// The focus map of a view's window (cells of its canvas the window
// covers), from the model's [h, w] map of the padded input.
autofocus::FocusMap WindowFocus(const torch::Tensor& focus,
                                const data::Chip& window, int32_t stride) {
  autofocus::FocusMap m;
  m.width = std::min<int32_t>((window.x2 - window.x1 + stride - 1) / stride,
                              focus.size(1));
  m.height = std::min<int32_t>((window.y2 - window.y1 + stride - 1) / stride,
                               focus.size(0));
  const torch::Tensor crop = focus.narrow(0, 0, m.height)
                                 .narrow(1, 0, m.width)
                                 .to(torch::kCPU, torch::kFloat)
                                 .contiguous();
  m.prob.assign(crop.data_ptr<float>(), crop.data_ptr<float>() + crop.numel());
  return m;
}

}  // namespace

std::vector<models::Detections> DetectOn(
    models::FasterRcnn& model, const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& sizes, torch::Device device,
    std::optional<c10::ScalarType> autocast,
    const ops::ProposalOptions* proposals,
    const std::vector<models::ProposalSizeRange>* proposal_sizes) {
  // On a CPU channels-last: oneDNN's convolutions read and write NHWC
  // as they are, where NCHW costs a reorder of every layer's input and
  // output (1.1-1.2x the images/s: docs/INFERENCE.md).
  torch::Tensor input = images.to(device);
  if (device.is_cpu()) {
    input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  std::vector<models::Detections> dets;
  {
    const compat::OptionalAutocast guard(device.type(), autocast);
    dets = model->Detect(input, sizes, proposals, proposal_sizes);
  }
  for (models::Detections& d : dets) {
    d.boxes = d.boxes.to(torch::kCPU, torch::kFloat);
    d.scores = d.scores.to(torch::kCPU, torch::kFloat);
    d.labels = d.labels.to(torch::kCPU);
    if (d.focus.defined()) d.focus = d.focus.to(torch::kCPU, torch::kFloat);
    if (d.masks.defined()) d.masks = d.masks.to(torch::kCPU, torch::kFloat);
  }
  return dets;
}

std::string FormatInferenceCost(const InferenceCost& cost) {
  std::string out = absl::StrFormat(
      "%s: %.3f M network pixels per image (",
      cost.autofocus ? "AutoFocus" : "every scale over the whole image",
      cost.pixels_per_image / 1e6);
  for (size_t k = 0; k < cost.pixels_per_scale.size(); ++k) {
    absl::StrAppendFormat(&out, "%sscale %d: %.3f M in %.2f views",
                          k ? ", " : "", k, cost.pixels_per_scale[k] / 1e6,
                          cost.views_per_scale[k]);
  }
  out += ")";
  if (cost.canvas_pixels_per_image > cost.pixels_per_image) {
    absl::StrAppendFormat(&out, "; batches padded to %.3f M",
                          cost.canvas_pixels_per_image / 1e6);
  }
  return out;
}

absl::StatusOr<MultiScaleDetector> MultiScaleDetector::Create(
    models::FasterRcnn model, InferenceOptions options,
    data::ChipRenderOptions render, torch::Device device,
    std::optional<c10::ScalarType> autocast) {
  if (options.scales.scales.empty()) {
    return absl::InvalidArgumentError(
        "inference needs at least one test scale (use BuildInferenceOptions)");
  }
  if (options.autofocus) {
    if (!options.ground_truth_focus && !model->options().has_focus()) {
      return absl::InvalidArgumentError(
          "AutoFocus inference needs a model with the focus branch "
          "(model.focus.enabled)");
    }
    if (options.focus_steps.size() + 1 != options.scales.scales.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AutoFocus needs one step per test scale but the finest (",
          options.scales.scales.size() - 1, "), got ",
          options.focus_steps.size()));
    }
  }
  return MultiScaleDetector(std::move(model), std::move(options), render,
                            device, autocast);
}

MultiScaleDetector::MultiScaleDetector(models::FasterRcnn model,
                                       InferenceOptions options,
                                       data::ChipRenderOptions render,
                                       torch::Device device,
                                       std::optional<c10::ScalarType> autocast)
    : model_(std::move(model)),
      options_(std::move(options)),
      render_(render),
      device_(device),
      autocast_(autocast),
      stride_(static_cast<int32_t>(model_->options().anchors.stride)) {
  // Large CPU tensors on huge pages, reused when freed (a forward pass
  // over a whole scaled image allocates dozens of 32 MiB+ blocks, which
  // glibc maps and faults in afresh every time): 1.23-1.32x the images/s
  // at batch 1 (docs/INFERENCE.md). SNIPER_LARGE_BLOCKS=0 turns it off.
  InstallLargeBlockCpuAllocator(/*by_default=*/true);
  model_->to(device_);
  model_->eval();
  // Set either way: the model may come from a detector that set it.
  model_->backbone()->SetEvalBatchStatistics(options_.batch_norm_per_batch);
  pixels_per_scale_.assign(options_.scales.scales.size(), 0);
  views_per_scale_.assign(options_.scales.scales.size(), 0);
  // The device's defaults where the options leave 0.
  batch_limits_.max_views = static_cast<size_t>(options_.batch_size);
  batch_limits_.max_padding = options_.max_batch_padding;
  batch_limits_.max_canvas_pixels = options_.max_batch_pixels > 0
                                        ? options_.max_batch_pixels
                                    : device_.is_cpu() ? kCpuBatchPixels
                                                       : 0;
  canvas_multiple_ = options_.canvas_multiple > 0 ? options_.canvas_multiple
                     : device_.is_cpu()           ? kCpuCanvasMultiple
                                                  : kGpuCanvasMultiple;
  const bool whole_images_alone =
      device_.is_cpu() && !options_.autofocus && options_.max_batch_pixels == 0;
  images_per_batch_ = whole_images_alone ? 1 : options_.batch_size;
}

data::ImageAtScale MultiScaleDetector::AtScale(int scale_index, int32_t width,
                                               int32_t height) const {
  return data::MakeImageAtScale(options_.scales, scale_index, width, height,
                                options_.scales.stride);
}

absl::StatusOr<PreparedImage> MultiScaleDetector::Prepare(
    const ImageSource& image) const {
  PreparedImage out;
  out.width = image.width;
  out.height = image.height;
  const int num_scales = static_cast<int>(options_.scales.scales.size());
  std::vector<data::ImageAtScale> at;
  for (int s = 0; s < num_scales; ++s) {
    at.push_back(AtScale(s, image.width, image.height));
  }
  std::vector<int> run;  // the scales whose views run at once
  if (options_.autofocus) {
    for (int s = 0; s < num_scales; ++s) out.scale_order.push_back(s);
    std::stable_sort(out.scale_order.begin(), out.scale_order.end(),
                     [&at](int a, int b) { return at[a].scale < at[b].scale; });
    run = {out.scale_order[0]};
    RETURN_IF_ERROR(PrepareAutoFocus(image, at, &out));
  } else {
    for (int s = 0; s < num_scales; ++s) run.push_back(s);
  }
  for (int s : run) {
    for (const data::Chip& w :
         ViewWindows(at[s], options_.max_tile_side, options_.tile_overlap)) {
      ASSIGN_OR_RETURN(ScaledView v, RenderView(image, at[s], s, w, render_,
                                                canvas_multiple_));
      out.views.push_back(std::move(v));
    }
  }
  return out;
}

ImageDetections MultiScaleDetector::Run(const PreparedImage& image) {
  return RunBatch({&image})[0];
}

void MultiScaleDetector::PoolDetections(const ScaledView& v,
                                        const PreparedImage& image,
                                        const models::Detections& d,
                                        Pooled* out) const {
  // A window (a tile or a FocusChip) leaves detections touching its
  // sides inside the image to the views that hold them whole.
  const torch::Tensor boxes = d.boxes.contiguous();
  const torch::Tensor keep_border = UncutRows(v, boxes);
  torch::Tensor b = ToImagePixels(v, boxes.index_select(0, keep_border));
  const torch::Tensor sc = d.scores.index_select(0, keep_border);
  const torch::Tensor lb = d.labels.index_select(0, keep_border);
  const torch::Tensor mk = d.masks.defined()
                               ? d.masks.index_select(0, keep_border)
                               : torch::Tensor();
  // Clipped to the image, inside the scale's valid range.
  b.select(1, 0).clamp_(0, image.width);
  b.select(1, 2).clamp_(0, image.width);
  b.select(1, 1).clamp_(0, image.height);
  b.select(1, 3).clamp_(0, image.height);
  const data::ScaleSpec& spec = options_.scales.scales[v.scale_index];
  const torch::Tensor size =
      ((b.select(1, 2) - b.select(1, 0)) * (b.select(1, 3) - b.select(1, 1)))
          .clamp_min(0)
          .sqrt();
  const torch::Tensor keep =
      ((size >= spec.valid_min) & (size < spec.valid_max)).nonzero().view(-1);
  out->boxes.push_back(b.index_select(0, keep));
  out->scores.push_back(sc.index_select(0, keep));
  out->labels.push_back(lb.index_select(0, keep));
  if (mk.defined()) out->masks.push_back(mk.index_select(0, keep));
}

models::ProposalSizeRange MultiScaleDetector::ProposalSizes(
    const ScaledView& v) const {
  const data::ScaleSpec& spec = options_.scales.scales[v.scale_index];
  const double m = options_.proposal_size_margin;
  return {spec.valid_min * v.at.scale / m, spec.valid_max * v.at.scale * m};
}

ops::ProposalOptions MultiScaleDetector::ScaleProposals(
    const std::vector<const ScaledView*>& views) const {
  ops::ProposalOptions o = model_->options().test_proposals;
  bool any_count = false;
  int64_t n = 0;
  for (const ScaledView* v : views) {
    const int64_t count =
        options_.scales.scales[v->scale_index].test_post_nms_top_n;
    any_count |= count > 0;
    n = std::max(n, count > 0 ? count : o.post_nms_top_n);
  }
  if (!any_count) return o;  // the model's options exactly
  o.post_nms_top_n = n;
  o.pre_nms_top_n = std::max(o.pre_nms_top_n, n);
  return o;
}

void MultiScaleDetector::CountView(const ScaledView& v) {
  const int64_t pixels = v.pixels.size(2) * v.pixels.size(3);
  ++views_run_;
  pixels_run_ += pixels;
  ++views_per_scale_[v.scale_index];
  pixels_per_scale_[v.scale_index] += pixels;
}

std::vector<models::Detections> MultiScaleDetector::DetectBatch(
    const std::vector<const ScaledView*>& views) {
  int64_t h = 0, w = 0;
  std::vector<std::pair<double, double>> sizes;
  std::vector<models::ProposalSizeRange> proposal_sizes;  // margin 0: none
  // AutoFocus: the batch's largest window's share of the proposals.
  double fraction = 0;
  bool same_shape = true;  // as the first view's
  for (const ScaledView* v : views) {
    h = std::max(h, v->pixels.size(2));
    w = std::max(w, v->pixels.size(3));
    same_shape &= v->pixels.sizes() == views[0]->pixels.sizes();
    sizes.push_back({static_cast<double>(v->window.y2 - v->window.y1),
                     static_cast<double>(v->window.x2 - v->window.x1)});
    if (options_.proposal_size_margin > 0) {
      proposal_sizes.push_back(ProposalSizes(*v));
    }
    fraction = std::max(
        fraction,
        static_cast<double>(v->window.x2 - v->window.x1) *
            (v->window.y2 - v->window.y1) /
            (static_cast<double>(v->at.scaled_width) * v->at.scaled_height));
  }
  const int64_t n = static_cast<int64_t>(views.size());
  canvas_pixels_run_ += n * h * w;
  torch::Tensor input;
  if (n == 1) {
    input = views[0]->pixels;
  } else if (same_shape) {  // no padding: no zero fill
    std::vector<torch::Tensor> pixels;
    for (const ScaledView* v : views) pixels.push_back(v->pixels);
    input = torch::cat(pixels);
  } else {
    input = torch::zeros({n, 3, h, w});
    for (int64_t j = 0; j < n; ++j) {
      const torch::Tensor& px = views[j]->pixels;
      input[j].narrow(1, 0, px.size(2)).narrow(2, 0, px.size(3)).copy_(px[0]);
    }
  }
  const ops::ProposalOptions proposals =
      ChipProposals(ScaleProposals(views), fraction,
                    options_.autofocus ? options_.min_chip_proposals : 0);
  return DetectOn(model_, input, sizes, device_, autocast_, &proposals,
                  proposal_sizes.empty() ? nullptr : &proposal_sizes);
}

void MultiScaleDetector::RunViews(
    const std::vector<Item>& items,
    const std::vector<const PreparedImage*>& images,
    std::vector<Pooled>* pooled, std::vector<autofocus::FocusMap>* focus) {
  // Batches of similar shapes (bounded padding); results taken back in
  // the items' order, so pooling does not depend on the batching.
  std::vector<ViewShape> shapes;
  for (const Item& item : items) {
    shapes.push_back({item.view->pixels.size(2), item.view->pixels.size(3)});
  }
  std::vector<models::Detections> dets(items.size());
  for (const std::vector<size_t>& batch : PlanBatches(shapes, batch_limits_)) {
    std::vector<const ScaledView*> views;
    for (size_t k : batch) views.push_back(items[k].view);
    std::vector<models::Detections> out = DetectBatch(views);
    for (size_t j = 0; j < batch.size(); ++j) {
      dets[batch[j]] = std::move(out[j]);
    }
  }
  for (size_t k = 0; k < items.size(); ++k) {
    const Item& item = items[k];
    CountView(*item.view);
    if (focus != nullptr) {
      focus->push_back(WindowFocus(dets[k].focus, item.view->window, stride_));
    }
    PoolDetections(*item.view, *images[item.image], dets[k],
                   &(*pooled)[item.image]);
  }
}

ImageDetections MultiScaleDetector::Merged(Pooled& p) const {
  ImageDetections all;
  if (p.boxes.empty()) {
    all = {torch::zeros({0, 4}), torch::zeros({0}),
           torch::zeros({0}, torch::kInt64), /*masks=*/torch::Tensor()};
    if (model_->options().has_mask()) {
      const int64_t m = model_->options().mask.resolution;
      all.masks = torch::zeros({0, m, m});
    }
  } else {
    all = {torch::cat(p.boxes), torch::cat(p.scores), torch::cat(p.labels),
           /*masks=*/torch::Tensor()};
    if (!p.masks.empty()) all.masks = torch::cat(p.masks);
  }
  return MergeDetections(all, options_);
}

std::vector<ImageDetections> MultiScaleDetector::RunBatch(
    const std::vector<const PreparedImage*>& images,
    std::vector<std::vector<FocusStep>>* trace) {
  torch::NoGradGuard no_grad;
  std::vector<Pooled> pooled(images.size());
  if (options_.autofocus) {
    RunAutoFocus(images, &pooled, trace);
  } else {
    // Views grouped by scale (similar sizes), in image order.
    std::vector<Item> items;
    for (size_t s = 0; s < options_.scales.scales.size(); ++s) {
      for (size_t i = 0; i < images.size(); ++i) {
        for (const ScaledView& v : images[i]->views) {
          if (v.scale_index == static_cast<int>(s)) items.push_back({i, &v});
        }
      }
    }
    RunViews(items, images, &pooled, nullptr);
  }
  std::vector<ImageDetections> result;
  for (Pooled& p : pooled) result.push_back(Merged(p));
  return result;
}

std::vector<std::vector<data::ScoredBox>> MultiScaleDetector::Proposals(
    const PreparedImage& image) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<data::ScoredBox>> out(options_.scales.scales.size());
  for (const ScaledView& v : image.views) {
    const models::Detections d =
        DetectOn(model_, v.pixels,
                 {{static_cast<double>(v.window.y2 - v.window.y1),
                   static_cast<double>(v.window.x2 - v.window.x1)}},
                 device_, autocast_)[0];
    CountView(v);
    canvas_pixels_run_ += v.pixels.size(2) * v.pixels.size(3);
    const bool at_origin = v.window.x1 == 0 && v.window.y1 == 0;
    const torch::Tensor boxes =
        (at_origin ? d.boxes / v.at.scale : ToImagePixels(v, d.boxes))
            .contiguous();
    const torch::Tensor scores = d.scores.contiguous();
    std::vector<data::ScoredBox>& mine = out[v.scale_index];
    for (int64_t k = 0; k < boxes.size(0); ++k) {
      const float* b = boxes.data_ptr<float>() + 4 * k;
      mine.push_back({{b[0], b[1], b[2], b[3]}, scores.data_ptr<float>()[k]});
    }
  }
  return out;
}

InferenceCost MultiScaleDetector::Cost(int64_t images) const {
  InferenceCost cost;
  cost.autofocus = options_.autofocus;
  const double n = std::max<double>(1, images);
  cost.pixels_per_image = pixels_run_ / n;
  cost.canvas_pixels_per_image = canvas_pixels_run_ / n;
  for (int64_t px : pixels_per_scale_) cost.pixels_per_scale.push_back(px / n);
  for (int64_t v : views_per_scale_) cost.views_per_scale.push_back(v / n);
  return cost;
}

}  // namespace sniper::inference
