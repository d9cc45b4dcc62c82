// File: sniper/image_results.cc
#include "sniper/image_results.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "masks/paste.h"
#include "masks/rle.h"
#include "viz/draw.h"
#include "viz/overlay_panels.h"

namespace sniper {
namespace {

int LabelOf(absl::Span<const data::CocoCategory> categories, int64_t id) {
  for (size_t i = 0; i < categories.size(); ++i) {
    if (categories[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

void AppendCocoDetections(const inference::ImageDetections& d,
                          const data::CocoImage& image,
                          absl::Span<const data::CocoCategory> categories,
                          std::vector<evaluation::Detection>* out) {
  const torch::Tensor boxes = d.boxes.contiguous();
  const torch::Tensor scores = d.scores.contiguous();
  const torch::Tensor labels = d.labels.contiguous();
  const torch::Tensor probs = d.masks.defined()
                                  ? d.masks.to(torch::kFloat).contiguous()
                                  : torch::Tensor();
  const int64_t m = probs.defined() ? probs.size(1) : 0;
  for (int64_t k = 0; k < boxes.size(0); ++k) {
    const float* b = boxes.data_ptr<float>() + 4 * k;
    evaluation::Detection det;
    det.image_id = image.id;
    det.category_id = categories[labels.data_ptr<int64_t>()[k]].id;
    det.x = b[0];
    det.y = b[1];
    det.w = b[2] - b[0];
    det.h = b[3] - b[1];
    det.score = scores.data_ptr<float>()[k];
    if (m > 0) {
      det.mask = masks::PasteMask(
          {probs.data_ptr<float>() + k * m * m, static_cast<size_t>(m * m)},
          static_cast<int32_t>(m), {b[0], b[1], b[2], b[3]}, image.height,
          image.width);
    }
    out->push_back(std::move(det));
  }
}

int DrawCocoDetections(data::RgbImage* image,
                       absl::Span<const evaluation::Detection> dets,
                       absl::Span<const data::CocoCategory> categories,
                       float threshold) {
  for (const evaluation::Detection& d : dets) {
    if (d.score < threshold || d.mask.height != image->height ||
        d.mask.width != image->width) {
      continue;
    }
    viz::BlendMask(image, masks::DecodeRowMajor(d.mask),
                   viz::PaletteColor(LabelOf(categories, d.category_id)),
                   0.45f);
  }
  std::vector<viz::LabeledBox> boxes;
  for (const evaluation::Detection& d : dets) {
    boxes.push_back({static_cast<float>(d.x), static_cast<float>(d.y),
                     static_cast<float>(d.x + d.w),
                     static_cast<float>(d.y + d.h), static_cast<float>(d.score),
                     LabelOf(categories, d.category_id)});
  }
  std::vector<std::string> names;
  for (const data::CocoCategory& c : categories) names.push_back(c.name);
  return viz::DrawLabeledBoxes(image, boxes, names, threshold);
}

namespace {

// `c` (pixels of a scale with factor `scale`) in original pixels.
viz::PanelRect Unscaled(const data::Chip& c, double scale) {
  return {c.x1 / scale, c.y1 / scale, c.x2 / scale, c.y2 / scale};
}

}  // namespace

data::RgbImage DrawFocusTrace(const data::RgbImage& original,
                              const std::vector<autofocus::FocusStep>& trace,
                              int stride) {
  std::vector<viz::OverlayPanel> panels;
  for (const autofocus::FocusStep& s : trace) {
    viz::OverlayPanel p;
    p.heat = {s.map.width, s.map.height, s.map.prob, s.at.scale, stride};
    for (const data::Chip& w : s.windows) {
      p.thin.push_back(Unscaled(w, s.at.scale));
    }
    for (const data::Chip& c : s.next_chips) {
      p.thick.push_back(Unscaled(c, s.next_scale));
    }
    p.caption =
        s.next_scale_index < 0
            ? absl::StrFormat("scale %d (x%.2f): %d windows", s.scale_index,
                              s.at.scale, s.windows.size())
            : absl::StrFormat("scale %d (x%.2f): %d windows, %d FocusChips",
                              s.scale_index, s.at.scale, s.windows.size(),
                              s.next_chips.size());
    panels.push_back(std::move(p));
  }
  return viz::DrawOverlayPanels(original, panels);
}

}  // namespace sniper
