// File: viz/histogram.h
//
// A histogram of positive values on a log x axis (torch-free, cairo through
// viz/canvas.h), with labelled ranges drawn over it as coloured bands: what
// //tools:suggest_scales draws (box sides, each training scale's valid
// range).
//
//   data::RgbImage chart = PlotLogHistogram(
//       "box sides", "sqrt(w * h), original pixels", sides, 8,
//       {{"scale 0 (x2)", PaletteColor(0), 0, 80}}, 900, 480);
#ifndef SNIPER_VIZ_HISTOGRAM_H_
#define SNIPER_VIZ_HISTOGRAM_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/image_io.h"
#include "viz/canvas.h"

namespace sniper::viz {

// [lo, hi) of the x axis (lo may be 0, hi infinite: the band runs to the
// axis' end), one row of the band area each.
struct RangeBand {
  std::string name;
  Color color;
  double lo = 0;
  double hi = 0;
};

// Counts of `values` (non-positive and non-finite ones left out) in bins
// of 1 / bins_per_decade decades, as grey bars; each band a translucent
// column over its range and a solid bar in its own row above the bars,
// named in the legend right of the axes.
data::RgbImage PlotLogHistogram(absl::string_view title,
                                absl::string_view x_label,
                                const std::vector<double>& values,
                                int bins_per_decade,
                                const std::vector<RangeBand>& bands, int width,
                                int height);

}  // namespace sniper::viz

#endif  // SNIPER_VIZ_HISTOGRAM_H_
