// File: autofocus/focus_trace.h
//
// What AutoFocus inference did on one image (inference/detector.h fills it):
// per test scale, coarse to fine, its focus map, the windows it ran in and
// the FocusChips it handed to the next scale. Plain data: its picture
// (`bazel run //sniper:detect -- --autofocus_map=...`) is drawn above,
// by sniper/image_results.h through viz/overlay_panels.h.
#ifndef SNIPER_AUTOFOCUS_FOCUS_TRACE_H_
#define SNIPER_AUTOFOCUS_FOCUS_TRACE_H_

#include <vector>

#include "autofocus/focus_chips.h"
#include "data/chips.h"

namespace sniper::autofocus {

struct FocusStep {
  int scale_index = 0;                 // the test scale (config order)
  data::ImageAtScale at;               // the image at that scale
  FocusMap map;                        // its focus map (empty at the finest)
  std::vector<data::Chip> windows;     // where it ran, its scaled pixels
  int next_scale_index = -1;           // the next, finer scale (-1: none)
  double next_scale = 0;               // that scale's factor
  std::vector<data::Chip> next_chips;  // FocusChips there, its pixels
};

}  // namespace sniper::autofocus

#endif  // SNIPER_AUTOFOCUS_FOCUS_TRACE_H_
