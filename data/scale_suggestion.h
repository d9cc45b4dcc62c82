// File: data/scale_suggestion.h
//
// Training scales and valid ranges chosen from a dataset's box sizes, so
// that every box is valid at some scale where the anchors can match it,
// with the fewest chip pixels per image. The paper's COCO settings were
// hand-set for COCO's object sizes; a dataset of tiny objects in large
// images, or of documents, needs others.
//
// A candidate is K scales given as factors f_1 > ... > f_K of the original
// image (finest first). The anchors match boxes whose side (sqrt(w * h)) at
// the scale lies in [anchor_min, anchor_max] (stride 16 x anchor scales
// 2..24 = 32..384 px in the shipped configs), so scale k can take original
// sides in [anchor_min / f_k, anchor_max / f_k]. Each box should train at
// the coarsest scale that can take it (coarse scales cost fewer chips), so
// the valid ranges are
//   scale k:  [anchor_min / f_k, min(anchor_max / f_k, overlap * lower_{k+1}))
// with the finest scale's lower bound 0 and the coarsest's upper bound inf,
// adjacent ranges overlapping by the factor `overlap` (the paper's overlap
// 80 / 32 and 150 / 120). The search enumerates factors on a geometric grid
// (the finest fixed by the dataset's small boxes), keeps the candidates
// whose ranges leave no gap and put every box of side >= the small-box
// quantile inside its scale's anchor range, and measures each with the
// chip sampler's own pixel accounting (data/chip_stats.h) on the dataset
// itself. The cheapest wins (ties: fewer scales).
#ifndef SNIPER_DATA_SCALE_SUGGESTION_H_
#define SNIPER_DATA_SCALE_SUGGESTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/chip_sampler.pb.h"
#include "data/coco_dataset.h"

namespace sniper::data {

struct ScaleSuggestionOptions {
  // Box sides (sqrt(w * h), network pixels) the anchors cover.
  double anchor_min = 32;
  double anchor_max = 384;
  // Adjacent valid ranges overlap by this factor (>= 1).
  double overlap = 1.25;
  int max_scales = 3;
  // Factors considered: 2^(j / steps_per_octave) within [min, max].
  double min_factor = 1.0 / 16;
  // The largest factor: the finest scale's cost limit (the paper's COCO
  // setting, 1400 x 2000 for 480 x 640 images, is about 3). Boxes too small
  // for the anchors even at this factor stay valid at the finest scale and
  // are reported, not required.
  double max_factor = 3;
  int steps_per_octave = 4;
  // Boxes smaller than this quantile of the sides do not set the finest
  // factor (a handful of 2 px boxes would otherwise demand huge images);
  // they stay valid at the finest scale.
  double small_quantile = 0.01;
  // The sampler the candidates' scales go into (chip size, cover, canvas)
  // and the single-scale baseline the pixels are compared with.
  ChipSamplerConfig base;
  ChipSamplerConfig baseline;
};

struct ScaleChoice {
  std::vector<double> factors;               // finest first
  std::vector<double> valid_min, valid_max;  // original pixels
  // Boxes (not crowd) inside their scale's anchor range at some scale, of
  // all boxes and of those >= ScaleSuggestion::small_side (always 1).
  double anchored_fraction = 0;
  double anchored_fraction_above_small = 0;
  double pixels_per_image = 0;       // positive chips, the sampler's count
  double ratio_vs_single_scale = 0;  // pixels / the baseline's
  double chips_per_image = 0;
  ChipSamplerConfig config;  // base with these scales
};

struct ScaleSuggestion {
  ScaleChoice best;
  std::vector<ScaleChoice>
      feasible;                   // every candidate measured, cheapest first
  int64_t candidates = 0;         // enumerated, before the range checks
  std::vector<double> box_sides;  // sqrt(w * h) of every non-crowd box
  // The side from which on every box must be anchored: the small-box
  // quantile's, or anchor_min / the largest grid factor if that is more.
  double small_side = 0;
};

// InvalidArgument for a dataset without boxes or options out of range;
// FailedPrecondition when no candidate anchors every box (the message says
// which sides no scale can take).
absl::StatusOr<ScaleSuggestion> SuggestScales(
    const CocoDataset& dataset, const ScaleSuggestionOptions& options);

// `config`'s own scales measured the same way (anchored fractions with each
// image's own factor per scale; pixels by the sampler): how well a
// hand-set config suits the dataset. `factors` stays empty.
absl::StatusOr<ScaleChoice> MeasureScales(const CocoDataset& dataset,
                                          const ChipSamplerConfig& config,
                                          const ScaleSuggestionOptions& options,
                                          double small_side);

// The choice's `scales { ... }` as text-format lines, to paste into a
// sampler config (and the same under eval { } for test scales).
std::string ScalesConfigText(const ScaleChoice& choice);

}  // namespace sniper::data

#endif  // SNIPER_DATA_SCALE_SUGGESTION_H_
