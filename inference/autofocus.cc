// AutoFocus's half of MultiScaleDetector (inference/detector.h): what
// Prepare keeps for the finer scales, the coarse-to-fine loop and the
// ground-truth focus maps.
#include <algorithm>
#include <deque>
#include <utility>

#include "autofocus/focus_chips.h"
#include "data/image_decode.h"
#include "inference/detector.h"
#include "port/status_macros.h"

namespace sniper::inference {

autofocus::FocusMap GroundTruthFocusMap(
    const std::vector<autofocus::LabelBox>& boxes, const data::ImageAtScale& at,
    const autofocus::FocusLabelOptions& labels) {
  std::vector<autofocus::LabelBox> scaled = boxes;
  for (autofocus::LabelBox& b : scaled) {
    b.x1 *= at.scale;
    b.y1 *= at.scale;
    b.x2 *= at.scale;
    b.y2 *= at.scale;
  }
  const autofocus::FocusLabels l = autofocus::MakeFocusLabels(
      scaled, at.scaled_width, at.scaled_height, labels);
  autofocus::FocusMap m;
  m.width = l.width;
  m.height = l.height;
  m.prob.resize(l.label.size());
  for (size_t i = 0; i < l.label.size(); ++i) {
    m.prob[i] = l.label[i] == autofocus::kFocusPositive ? 1.0f : 0.0f;
  }
  return m;
}

absl::Status MultiScaleDetector::PrepareAutoFocus(
    const ImageSource& image, const std::vector<data::ImageAtScale>& at,
    PreparedImage* out) const {
  if (options_.ground_truth_focus) out->ground_truth = image.ground_truth;
  out->decoded.resize(at.size());
  // One decode per DCT factor: scales that decode alike share it.
  std::vector<std::pair<int, std::shared_ptr<const data::DecodedRegion>>> by_k;
  for (size_t r = 1; r < out->scale_order.size(); ++r) {
    const int s = out->scale_order[r];
    const int k = data::DctScaleNumerator(at[s].scale);
    const auto same = std::find_if(by_k.begin(), by_k.end(),
                                   [k](const auto& e) { return e.first == k; });
    if (same != by_k.end()) {
      out->decoded[s] = same->second;
      continue;
    }
    data::DecodeRequest request;
    request.scale = at[s].scale;
    ASSIGN_OR_RETURN(data::DecodedRegion region, DecodeImage(image, request));
    out->decoded[s] =
        std::make_shared<const data::DecodedRegion>(std::move(region));
    by_k.push_back({k, out->decoded[s]});
  }
  return absl::OkStatus();
}

FocusStep MultiScaleDetector::AutoFocusStep(
    const PreparedImage& image, size_t image_index, size_t rank,
    const std::vector<Item>& items,
    const std::vector<autofocus::FocusMap>& maps) const {
  const bool last = rank == options_.focus_steps.size();
  const bool from_model = !last && !options_.ground_truth_focus;
  const int s = image.scale_order[rank];
  FocusStep step;
  step.scale_index = s;
  step.at = AtScale(s, image.width, image.height);
  step.map.width = (step.at.scaled_width + stride_ - 1) / stride_;
  step.map.height = (step.at.scaled_height + stride_ - 1) / stride_;
  step.map.prob.assign(static_cast<size_t>(step.map.width) * step.map.height,
                       0.0f);
  for (size_t k = 0; k < items.size(); ++k) {
    if (items[k].image != image_index) continue;
    const data::Chip& window = items[k].view->window;
    step.windows.push_back(window);
    if (from_model) {
      autofocus::PasteFocusMap(maps[k], window.x1, window.y1, stride_,
                               &step.map);
    }
  }
  if (last) return step;
  if (options_.ground_truth_focus) {
    step.map = GroundTruthFocusMap(image.ground_truth, step.at,
                                   model_->options().focus_labels);
  }
  const int t = image.scale_order[rank + 1];
  const data::ImageAtScale to = AtScale(t, image.width, image.height);
  step.next_scale_index = t;
  step.next_scale = to.scale;
  for (const autofocus::CellRect& rect :
       autofocus::FocusChips(step.map, options_.focus_steps[rank])) {
    const autofocus::PixelBox p =
        autofocus::CellsAtScale(rect, stride_, step.at.scale, to.scale,
                                to.scaled_width, to.scaled_height);
    const data::Chip chip{
        static_cast<int32_t>(p.x1), static_cast<int32_t>(p.y1),
        static_cast<int32_t>(p.x2), static_cast<int32_t>(p.y2)};
    if (chip.x2 > chip.x1 && chip.y2 > chip.y1) step.next_chips.push_back(chip);
  }
  return step;
}

void MultiScaleDetector::RunAutoFocus(
    const std::vector<const PreparedImage*>& images,
    std::vector<Pooled>* pooled, std::vector<std::vector<FocusStep>>* trace) {
  // Views rendered here (FocusChips of the finer scales), per image; a
  // deque keeps pointers to them stable.
  std::vector<std::deque<ScaledView>> chips(images.size());
  std::vector<Item> items;
  for (size_t i = 0; i < images.size(); ++i) {
    for (const ScaledView& v : images[i]->views) items.push_back({i, &v});
  }
  if (trace != nullptr) trace->assign(images.size(), {});
  const size_t ranks = options_.focus_steps.size() + 1;
  for (size_t r = 0; r < ranks; ++r) {
    const bool maps_from_model = r + 1 < ranks && !options_.ground_truth_focus;
    std::vector<autofocus::FocusMap> maps;
    RunViews(items, images, pooled, maps_from_model ? &maps : nullptr);
    std::vector<Item> next;
    for (size_t i = 0; i < images.size(); ++i) {
      const PreparedImage& image = *images[i];
      FocusStep step = AutoFocusStep(image, i, r, items, maps);
      for (const data::Chip& chip : step.next_chips) {
        const int t = step.next_scale_index;
        const data::ImageAtScale to = AtScale(t, image.width, image.height);
        for (const data::Chip& tile : RegionWindows(
                 chip, options_.max_tile_side, options_.tile_overlap)) {
          const data::Chip w = GrowToCanvas(tile, canvas_multiple_,
                                            to.scaled_width, to.scaled_height);
          chips[i].push_back(RenderViewFrom(*image.decoded[t], to, t, w,
                                            render_, canvas_multiple_));
          next.push_back({i, &chips[i].back()});
        }
      }
      if (trace != nullptr) (*trace)[i].push_back(std::move(step));
    }
    // In image order: RunViews batches them by shape (PlanBatches).
    items = std::move(next);
  }
}

}  // namespace sniper::inference
