#include "sniper/inference.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "data/chip_loader.h"
#include "ops/nms.h"
#include "ops/soft_nms.h"
#include "port/status_macros.h"
#include "port/torch_compat.h"

namespace sniper {
namespace {

// A detection this close to a window side inside the image was cut by it.
constexpr double kBorderMargin = 2.0;

constexpr int32_t kFeatureStride = MultiScaleDetector::kFeatureStride;

int32_t RoundUp32(int32_t v) { return (v + 31) / 32 * 32; }

// The render options of a window's canvas: its sides rounded up to 32.
data::ChipRenderOptions CanvasFor(const data::Chip& window,
                                  const data::ChipRenderOptions& base) {
  data::ChipRenderOptions render = base;
  render.canvas_width = RoundUp32(window.x2 - window.x1);
  render.canvas_height = RoundUp32(window.y2 - window.y1);
  render.chip_size = std::max(render.canvas_width, render.canvas_height);
  render.layout = data::ChipLayout::kChwFloat32;
  return render;
}

// The focus map of a view's window (cells of its canvas the window
// covers), from the model's [h, w] map of the padded input.
autofocus::FocusMap WindowFocus(const torch::Tensor& focus,
                                const data::Chip& window) {
  autofocus::FocusMap m;
  m.width = std::min<int32_t>(
      (window.x2 - window.x1 + kFeatureStride - 1) / kFeatureStride,
      focus.size(1));
  m.height = std::min<int32_t>(
      (window.y2 - window.y1 + kFeatureStride - 1) / kFeatureStride,
      focus.size(0));
  const torch::Tensor crop = focus.narrow(0, 0, m.height)
                                 .narrow(1, 0, m.width)
                                 .to(torch::kCPU, torch::kFloat)
                                 .contiguous();
  m.prob.assign(crop.data_ptr<float>(), crop.data_ptr<float>() + crop.numel());
  return m;
}

}  // namespace

std::vector<data::Chip> RegionWindows(const data::Chip& region,
                                      int32_t max_tile_side, int32_t overlap) {
  const int32_t w = region.x2 - region.x1, h = region.y2 - region.y1;
  if (max_tile_side <= 0 || std::max(w, h) <= max_tile_side) return {region};
  std::vector<int32_t> xs, ys;
  const int32_t step = max_tile_side - overlap;
  const int32_t tw = data::CandidatePositions(w, max_tile_side, step, &xs);
  const int32_t th = data::CandidatePositions(h, max_tile_side, step, &ys);
  std::vector<data::Chip> out;
  for (int32_t y : ys) {
    for (int32_t x : xs) {
      out.push_back({region.x1 + x, region.y1 + y, region.x1 + x + tw,
                     region.y1 + y + th});
    }
  }
  return out;
}

std::vector<data::Chip> ViewWindows(const data::ImageAtScale& at,
                                    int32_t max_tile_side, int32_t overlap) {
  return RegionWindows(data::Chip{0, 0, at.scaled_width, at.scaled_height},
                       max_tile_side, overlap);
}

ScaledView RenderViewFrom(const data::DecodedRegion& decoded,
                          const data::ImageAtScale& at, int scale_index,
                          const data::Chip& window,
                          const data::ChipRenderOptions& base) {
  ScaledView view;
  view.scale_index = scale_index;
  view.at = at;
  view.window = window;
  const data::ChipRenderOptions render = CanvasFor(window, base);
  view.pixels = torch::empty({1, 3, render.canvas_height, render.canvas_width});
  data::RenderChip(decoded, window, at.scale, /*flip=*/false, render,
                   view.pixels.data_ptr());
  return view;
}

absl::StatusOr<ScaledView> RenderView(const data::CocoDataset& dataset,
                                      const std::string& image_dir,
                                      const data::ChipSampler& sampler,
                                      size_t index, int scale_index,
                                      const data::Chip& window,
                                      const data::ChipRenderOptions& base) {
  const data::CocoImage& im = dataset.image(index);
  ScaledView view;
  view.scale_index = scale_index;
  view.at = data::MakeImageAtScale(sampler.options(), scale_index, im.width,
                                   im.height, sampler.options().stride);
  view.window = window;
  data::ChipRecord record;
  record.image_index = static_cast<uint32_t>(index);
  record.scale_index = static_cast<uint16_t>(scale_index);
  record.chip = window;
  const data::ChipRenderOptions render = CanvasFor(window, base);
  view.pixels = torch::empty({1, 3, render.canvas_height, render.canvas_width});
  data::ChipLabels labels;
  data::ChipLoadStats stats;
  RETURN_IF_ERROR(data::LoadChip(dataset, image_dir, sampler, record,
                                 /*flip=*/false, render, view.pixels.data_ptr(),
                                 &labels, &stats));
  return view;
}

std::vector<models::Detections> DetectOn(
    models::FasterRcnn& model, const torch::Tensor& images,
    const std::vector<std::pair<double, double>>& sizes, torch::Device device,
    std::optional<c10::ScalarType> autocast,
    const ops::ProposalOptions* proposals) {
  std::vector<models::Detections> dets;
  {
    const compat::OptionalAutocast guard(device.type(), autocast);
    dets = model->Detect(images.to(device), sizes, proposals);
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

ImageDetections MergeDetections(const ImageDetections& pooled,
                                const InferenceOptions& o) {
  // The kept rows of `pooled` in output order, and their scores.
  torch::Tensor rows, scores;
  const torch::Tensor above =
      (pooled.scores >= o.score_threshold).nonzero().view(-1);
  const torch::Tensor boxes = pooled.boxes.index_select(0, above);
  const torch::Tensor labels = pooled.labels.index_select(0, above);
  const torch::Tensor kept_scores = pooled.scores.index_select(0, above);
  if (!o.soft_nms) {
    rows = ops::BatchedNms(boxes, kept_scores, labels, o.nms_threshold);
    if (rows.size(0) > o.max_detections) {
      rows = rows.narrow(0, 0, o.max_detections);
    }
    scores = kept_scores.index_select(0, rows);
  } else {
    ops::SoftNmsOptions so;
    so.method = ops::SoftNmsOptions::Method::kGaussian;
    so.sigma = o.soft_nms_sigma;
    so.score_threshold = o.score_threshold;
    std::vector<torch::Tensor> sel, decayed;
    const torch::Tensor classes = std::get<0>(at::_unique(labels));
    for (int64_t c = 0; c < classes.size(0); ++c) {
      const torch::Tensor mine = (labels == classes[c]).nonzero().view(-1);
      auto [idx, d] = ops::SoftNms(boxes.index_select(0, mine),
                                   kept_scores.index_select(0, mine), so);
      sel.push_back(mine.index_select(0, idx));
      decayed.push_back(d.to(kept_scores.scalar_type()));
    }
    if (sel.empty()) {
      rows = torch::zeros({0}, torch::kInt64);
      scores = kept_scores.index_select(0, rows);
    } else {
      const torch::Tensor all_rows = torch::cat(sel);
      const torch::Tensor all_scores = torch::cat(decayed);
      // Decreasing score, ties in class order then selection order.
      torch::Tensor order =
          std::get<1>(all_scores.sort(/*stable=*/true, 0, true));
      if (order.size(0) > o.max_detections) {
        order = order.narrow(0, 0, o.max_detections);
      }
      rows = all_rows.index_select(0, order);
      scores = all_scores.index_select(0, order);
    }
  }
  ImageDetections out{boxes.index_select(0, rows).contiguous(),
                      scores.contiguous(),
                      labels.index_select(0, rows).contiguous(),
                      /*masks=*/torch::Tensor()};
  if (pooled.masks.defined()) {
    out.masks =
        pooled.masks.index_select(0, above).index_select(0, rows).contiguous();
  }
  return out;
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
      sampler_(options_.scales) {
  TORCH_CHECK(!options_.autofocus || options_.ground_truth_focus ||
                  model_->options().has_focus(),
              "AutoFocus inference needs a model with the focus branch "
              "(model.focus.enabled)");
  TORCH_CHECK(
      !options_.autofocus || options_.focus_steps.size() + 1 ==
                                 static_cast<size_t>(sampler_.num_scales()),
      "AutoFocus needs one step per test scale but the finest");
  model_->to(device_);
  model_->eval();
  pixels_per_scale_.assign(sampler_.num_scales(), 0);
  views_per_scale_.assign(sampler_.num_scales(), 0);
}

absl::StatusOr<PreparedImage> MultiScaleDetector::Prepare(
    const data::CocoDataset& dataset, const std::string& image_dir,
    size_t index) const {
  PreparedImage out;
  out.index = index;
  const data::CocoImage& im = dataset.image(index);
  out.width = im.width;
  out.height = im.height;
  std::vector<data::ImageAtScale> at;
  for (int s = 0; s < sampler_.num_scales(); ++s) {
    at.push_back(data::MakeImageAtScale(sampler_.options(), s, im.width,
                                        im.height, sampler_.options().stride));
  }
  std::vector<int> run;  // the scales whose views run at once
  if (options_.autofocus) {
    for (int s = 0; s < sampler_.num_scales(); ++s)
      out.scale_order.push_back(s);
    std::stable_sort(out.scale_order.begin(), out.scale_order.end(),
                     [&at](int a, int b) { return at[a].scale < at[b].scale; });
    run = {out.scale_order[0]};
    RETURN_IF_ERROR(PrepareAutoFocus(dataset, image_dir, at, &out));
  } else {
    for (int s = 0; s < sampler_.num_scales(); ++s) run.push_back(s);
  }
  for (int s : run) {
    for (const data::Chip& w :
         ViewWindows(at[s], options_.max_tile_side, options_.tile_overlap)) {
      ASSIGN_OR_RETURN(ScaledView v, RenderView(dataset, image_dir, sampler_,
                                                index, s, w, render_));
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
  const autofocus::PixelBox chip{
      static_cast<double>(v.window.x1), static_cast<double>(v.window.y1),
      static_cast<double>(v.window.x2), static_cast<double>(v.window.y2)};
  const torch::Tensor boxes = d.boxes.contiguous();
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
  const torch::Tensor keep_border = torch::tensor(kept, torch::kInt64);
  torch::Tensor b = boxes.index_select(0, keep_border);
  const torch::Tensor sc = d.scores.index_select(0, keep_border);
  const torch::Tensor lb = d.labels.index_select(0, keep_border);
  const torch::Tensor mk = d.masks.defined()
                               ? d.masks.index_select(0, keep_border)
                               : torch::Tensor();
  // Original pixels, clipped to the image.
  const torch::Tensor offset = torch::tensor(
      {static_cast<float>(v.window.x1), static_cast<float>(v.window.y1),
       static_cast<float>(v.window.x1), static_cast<float>(v.window.y1)});
  b = (b + offset) / v.at.scale;
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

void MultiScaleDetector::RunViews(
    const std::vector<Item>& items,
    const std::vector<const PreparedImage*>& images,
    std::vector<Pooled>* pooled, std::vector<autofocus::FocusMap>* focus) {
  const size_t batch = std::max<int64_t>(1, options_.batch_size);
  for (size_t first = 0; first < items.size(); first += batch) {
    const size_t n = std::min(batch, items.size() - first);
    int64_t h = 0, w = 0;
    std::vector<std::pair<double, double>> sizes;
    for (size_t j = first; j < first + n; ++j) {
      const ScaledView& v = *items[j].view;
      h = std::max(h, v.pixels.size(2));
      w = std::max(w, v.pixels.size(3));
      sizes.push_back({static_cast<double>(v.window.y2 - v.window.y1),
                       static_cast<double>(v.window.x2 - v.window.x1)});
    }
    torch::Tensor input;
    if (n == 1) {
      input = items[first].view->pixels;
    } else {
      input = torch::zeros({static_cast<int64_t>(n), 3, h, w});
      for (size_t j = 0; j < n; ++j) {
        const torch::Tensor& px = items[first + j].view->pixels;
        input[j].narrow(1, 0, px.size(2)).narrow(2, 0, px.size(3)).copy_(px[0]);
      }
    }
    // AutoFocus: the batch's largest window's share of the proposals.
    double fraction = 0;
    for (size_t j = first; j < first + n; ++j) {
      const ScaledView& v = *items[j].view;
      fraction = std::max(
          fraction,
          static_cast<double>(v.window.x2 - v.window.x1) *
              (v.window.y2 - v.window.y1) /
              (static_cast<double>(v.at.scaled_width) * v.at.scaled_height));
    }
    const ops::ProposalOptions proposals =
        ChipProposals(model_->options().test_proposals, fraction,
                      options_.autofocus ? options_.min_chip_proposals : 0);
    const std::vector<models::Detections> dets =
        DetectOn(model_, input, sizes, device_, autocast_, &proposals);
    for (size_t j = 0; j < n; ++j) {
      const ScaledView& v = *items[first + j].view;
      const int64_t pixels = v.pixels.size(2) * v.pixels.size(3);
      ++views_run_;
      pixels_run_ += pixels;
      ++views_per_scale_[v.scale_index];
      pixels_per_scale_[v.scale_index] += pixels;
      if (focus != nullptr)
        focus->push_back(WindowFocus(dets[j].focus, v.window));
      PoolDetections(v, *images[items[first + j].image], dets[j],
                     &(*pooled)[items[first + j].image]);
    }
  }
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
    for (int s = 0; s < sampler_.num_scales(); ++s) {
      for (size_t i = 0; i < images.size(); ++i) {
        for (const ScaledView& v : images[i]->views) {
          if (v.scale_index == s) items.push_back({i, &v});
        }
      }
    }
    RunViews(items, images, &pooled, nullptr);
  }
  std::vector<ImageDetections> result;
  for (Pooled& p : pooled) {
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
    result.push_back(MergeDetections(all, options_));
  }
  return result;
}

}  // namespace sniper
