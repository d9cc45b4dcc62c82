// File: autofocus/focus_labels.h
//
// AutoFocus's FocusPixel labels (../shared/docs/AUTOFOCUS.md, "Training
// the focus branch"): per training chip, on its stride-16 feature grid,
// from the chip's ground truth in chip pixels. For a box of side
// s = sqrt(w * h):
//   small_min < s < small_max        positive (1) on every cell it covers
//   small_max <= s < dont_care_max,
//   or s <= small_min, or a crowd    don't care (-1, no loss)
//   anything else (and background)   negative (0)
// Reference values 5, 64, 90. A box covers the cells its area overlaps.
// Where boxes overlap, the rule is order-free: positive beats don't care,
// which beats negative (a cell holding a small object always fires, and a
// cell under a medium object is never taught "nothing here"); the
// reference instead lets the later box win.
#ifndef SNIPER_AUTOFOCUS_FOCUS_LABELS_H_
#define SNIPER_AUTOFOCUS_FOCUS_LABELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace sniper::autofocus {

struct FocusLabelOptions {
  double small_min = 5;
  double small_max = 64;
  double dont_care_max = 90;
  int32_t stride = 16;
};

// InvalidArgument naming `path`'s field: needs
// 0 <= small_min < small_max <= dont_care_max and stride >= 1.
absl::Status ValidateFocusLabelOptions(const FocusLabelOptions& options,
                                       const std::string& path);

// A ground-truth box in chip pixels [x1, x2) x [y1, y2).
struct LabelBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  bool crowd = false;
};

constexpr int8_t kFocusNegative = 0;
constexpr int8_t kFocusPositive = 1;
constexpr int8_t kFocusDontCare = -1;

struct FocusLabels {
  int32_t width = 0, height = 0;  // cells: ceil(chip side / stride)
  std::vector<int8_t> label;      // row-major

  int8_t at(int32_t x, int32_t y) const {
    return label[static_cast<size_t>(y) * width + x];
  }
};

// Labels of a chip_width x chip_height chip. `options` must be valid.
FocusLabels MakeFocusLabels(absl::Span<const LabelBox> boxes,
                            int32_t chip_width, int32_t chip_height,
                            const FocusLabelOptions& options);

}  // namespace sniper::autofocus

#endif  // SNIPER_AUTOFOCUS_FOCUS_LABELS_H_
