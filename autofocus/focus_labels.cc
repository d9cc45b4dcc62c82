#include "autofocus/focus_labels.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace sniper::autofocus {
namespace {

// Precedence of a label where boxes overlap: positive > don't care >
// negative.
int Rank(int8_t label) {
  return label == kFocusPositive ? 2 : label == kFocusDontCare ? 1 : 0;
}

int8_t LabelOf(const LabelBox& b, const FocusLabelOptions& o) {
  if (b.crowd) return kFocusDontCare;
  const double s =
      std::sqrt(std::max(0.0, b.x2 - b.x1) * std::max(0.0, b.y2 - b.y1));
  if (s > o.small_min && s < o.small_max) return kFocusPositive;
  if (s <= o.small_min || s < o.dont_care_max) return kFocusDontCare;
  return kFocusNegative;
}

}  // namespace

absl::Status ValidateFocusLabelOptions(const FocusLabelOptions& o,
                                       const std::string& path) {
  if (!(o.small_min >= 0 && o.small_min < o.small_max &&
        o.small_max <= o.dont_care_max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": need 0 <= small_min < small_max <= dont_care_max, got ",
        o.small_min, ", ", o.small_max, ", ", o.dont_care_max));
  }
  if (o.stride < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".stride: must be >= 1, got ", o.stride));
  }
  return absl::OkStatus();
}

FocusLabels MakeFocusLabels(absl::Span<const LabelBox> boxes,
                            int32_t chip_width, int32_t chip_height,
                            const FocusLabelOptions& o) {
  FocusLabels out;
  out.width = (std::max(chip_width, 0) + o.stride - 1) / o.stride;
  out.height = (std::max(chip_height, 0) + o.stride - 1) / o.stride;
  out.label.assign(static_cast<size_t>(out.width) * out.height, kFocusNegative);
  for (const LabelBox& b : boxes) {
    if (!(b.x2 > b.x1 && b.y2 > b.y1)) continue;  // covers no cell
    const int8_t label = LabelOf(b, o);
    if (label == kFocusNegative) continue;
    // Cells whose extent overlaps the box with positive area.
    const int32_t x1 =
        std::max(0, static_cast<int32_t>(std::floor(b.x1 / o.stride)));
    const int32_t y1 =
        std::max(0, static_cast<int32_t>(std::floor(b.y1 / o.stride)));
    const int32_t x2 =
        std::min(out.width, static_cast<int32_t>(std::ceil(b.x2 / o.stride)));
    const int32_t y2 =
        std::min(out.height, static_cast<int32_t>(std::ceil(b.y2 / o.stride)));
    for (int32_t y = y1; y < y2; ++y) {
      for (int32_t x = x1; x < x2; ++x) {
        int8_t& cell = out.label[static_cast<size_t>(y) * out.width + x];
        if (Rank(label) > Rank(cell)) cell = label;
      }
    }
  }
  return out;
}

}  // namespace sniper::autofocus
