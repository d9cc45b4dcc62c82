// AutoFocus's half of MultiScaleDetector (sniper/inference.h): what
// Prepare keeps for the finer scales, the coarse-to-fine loop, the
// ground-truth focus maps and the proposal share of a FocusChip.
#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "data/image_decode.h"
#include "port/status_macros.h"
#include "sniper/inference.h"

namespace sniper {

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
  autofocus::FocusLabelOptions o = labels;
  o.stride = MultiScaleDetector::kFeatureStride;
  const autofocus::FocusLabels l =
      autofocus::MakeFocusLabels(scaled, at.scaled_width, at.scaled_height, o);
  autofocus::FocusMap m;
  m.width = l.width;
  m.height = l.height;
  m.prob.resize(l.label.size());
  for (size_t i = 0; i < l.label.size(); ++i) {
    m.prob[i] = l.label[i] == autofocus::kFocusPositive ? 1.0f : 0.0f;
  }
  return m;
}

ops::ProposalOptions ChipProposals(const ops::ProposalOptions& image,
                                   double area_fraction, int64_t min_post_nms) {
  if (min_post_nms <= 0 || area_fraction >= 1) return image;
  ops::ProposalOptions o = image;
  auto share = [area_fraction](int64_t n) {
    return static_cast<int64_t>(std::ceil(n * area_fraction - 1e-9));
  };
  o.post_nms_top_n =
      std::min(image.post_nms_top_n,
               std::max(min_post_nms, share(image.post_nms_top_n)));
  o.pre_nms_top_n =
      std::min(image.pre_nms_top_n,
               std::max(o.post_nms_top_n, share(image.pre_nms_top_n)));
  return o;
}

absl::Status MultiScaleDetector::PrepareAutoFocus(
    const data::CocoDataset& dataset, const std::string& image_dir,
    const std::vector<data::ImageAtScale>& at, PreparedImage* out) const {
  const size_t index = out->index;
  const data::CocoImage& im = dataset.image(index);
  if (options_.ground_truth_focus) {
    const absl::Span<const data::BoxXYWH> boxes = dataset.boxes_of(index);
    const absl::Span<const uint8_t> crowd = dataset.crowd_of(index);
    for (size_t k = 0; k < boxes.size(); ++k) {
      const data::BoxXYWH& b = boxes[k];
      out->ground_truth.push_back(
          {b.x, b.y, b.x + b.w, b.y + b.h, crowd[k] != 0});
    }
  }
  out->decoded.resize(sampler_.num_scales());
  const std::string path = absl::StrCat(image_dir, "/", im.file_name);
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
    ASSIGN_OR_RETURN(data::DecodedRegion region,
                     data::DecodeImageFileRegion(path, request));
    if (region.full_width != im.width || region.full_height != im.height) {
      return absl::DataLossError(absl::StrCat(
          path, ": image is ", region.full_width, "x", region.full_height,
          " but the annotations say ", im.width, "x", im.height));
    }
    out->decoded[s] =
        std::make_shared<const data::DecodedRegion>(std::move(region));
    by_k.push_back({k, out->decoded[s]});
  }
  return absl::OkStatus();
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
    const bool last = r + 1 == ranks;
    std::vector<autofocus::FocusMap> maps;
    RunViews(items, images, pooled,
             last || options_.ground_truth_focus ? nullptr : &maps);
    std::vector<Item> next;
    for (size_t i = 0; i < images.size(); ++i) {
      const PreparedImage& image = *images[i];
      const int s = image.scale_order[r];
      FocusStep step;
      step.scale_index = s;
      step.at = data::MakeImageAtScale(sampler_.options(), s, image.width,
                                       image.height, sampler_.options().stride);
      step.map.width =
          (step.at.scaled_width + kFeatureStride - 1) / kFeatureStride;
      step.map.height =
          (step.at.scaled_height + kFeatureStride - 1) / kFeatureStride;
      step.map.prob.assign(
          static_cast<size_t>(step.map.width) * step.map.height, 0.0f);
      for (size_t k = 0; k < items.size(); ++k) {
        if (items[k].image != i) continue;
        step.windows.push_back(items[k].view->window);
        if (!last && !options_.ground_truth_focus) {
          autofocus::PasteFocusMap(maps[k], items[k].view->window.x1,
                                   items[k].view->window.y1, kFeatureStride,
                                   &step.map);
        }
      }
      if (!last && options_.ground_truth_focus) {
        step.map = GroundTruthFocusMap(image.ground_truth, step.at,
                                       model_->options().focus_labels);
      }
      if (!last) {
        const int t = image.scale_order[r + 1];
        const data::ImageAtScale to =
            data::MakeImageAtScale(sampler_.options(), t, image.width,
                                   image.height, sampler_.options().stride);
        step.next_scale_index = t;
        step.next_scale = to.scale;
        for (const autofocus::CellRect& rect :
             autofocus::FocusChips(step.map, options_.focus_steps[r])) {
          const autofocus::PixelBox p = autofocus::CellsAtScale(
              rect, kFeatureStride, step.at.scale, to.scale, to.scaled_width,
              to.scaled_height);
          const data::Chip chip{
              static_cast<int32_t>(p.x1), static_cast<int32_t>(p.y1),
              static_cast<int32_t>(p.x2), static_cast<int32_t>(p.y2)};
          if (chip.x2 <= chip.x1 || chip.y2 <= chip.y1) continue;
          step.next_chips.push_back(chip);
          for (const data::Chip& w : RegionWindows(chip, options_.max_tile_side,
                                                   options_.tile_overlap)) {
            chips[i].push_back(
                RenderViewFrom(*image.decoded[t], to, t, w, render_));
            next.push_back({i, &chips[i].back()});
          }
        }
      }
      if (trace != nullptr) (*trace)[i].push_back(std::move(step));
    }
    // Chips of similar sizes batch together (less padding).
    std::stable_sort(next.begin(), next.end(),
                     [](const Item& a, const Item& b) {
                       const auto& pa = a.view->pixels;
                       const auto& pb = b.view->pixels;
                       return std::make_pair(pa.size(2), pa.size(3)) <
                              std::make_pair(pb.size(2), pb.size(3));
                     });
    items = std::move(next);
  }
}

}  // namespace sniper
