// File: data/chip_stats.h
//
// Pixel accounting of one SNIPER epoch against the single-scale baseline and
// the full image pyramid (SNIPER.md sections 1 and 9). All counts are exact;
// "pixels" of a chip is chip_size^2 (the padded canvas the network sees), of
// a whole-image baseline the resized area round(w*s) x round(h*s).
#ifndef SNIPER_DATA_CHIP_STATS_H_
#define SNIPER_DATA_CHIP_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/proposals.h"

namespace sniper::data {

struct ScaleChipStats {
  int64_t valid_boxes = 0;
  int64_t covered_boxes = 0;  // valid boxes inside >= 1 positive chip
  // (valid box, positive chip holding it) pairs: how often an epoch shows
  // each valid box (greedy's overlapping chips show many twice).
  int64_t box_appearances = 0;
  int64_t positive_chips = 0;
  int64_t negative_chips = 0;  // sampled into the epoch
  int64_t negative_pool = 0;   // before sampling
  int64_t pixels = 0;          // chip pixels (positives + negatives)
  int64_t pyramid_pixels = 0;  // sum of resized areas at this scale
  // With proposals: the scale's proposals, and the valid boxes that one of
  // them overlaps with IoU >= 0.5 (the RPN's recall where it matters).
  int64_t proposals = 0;
  int64_t recalled_boxes = 0;
  double recall() const {
    return valid_boxes == 0 ? 1.0
                            : static_cast<double>(recalled_boxes) / valid_boxes;
  }
};

struct ChipStats {
  int64_t images = 0;
  std::vector<ScaleChipStats> scales;
  int64_t positive_chips = 0;
  int64_t negative_chips = 0;
  int64_t positive_pixels = 0;
  int64_t negative_pixels = 0;
  int64_t single_scale_pixels = 0;  // baseline, whole images
  int64_t pyramid_pixels = 0;       // all SNIPER scales, whole images
  bool has_proposals = false;       // recall and negatives were computed

  double per_image(int64_t v) const {
    return images == 0 ? 0.0 : static_cast<double>(v) / images;
  }
  int64_t sniper_pixels() const { return positive_pixels + negative_pixels; }
  double ratio_vs_single_scale() const {
    return single_scale_pixels == 0
               ? 0.0
               : static_cast<double>(sniper_pixels()) / single_scale_pixels;
  }
  double ratio_vs_pyramid() const {
    return pyramid_pixels == 0
               ? 0.0
               : static_cast<double>(sniper_pixels()) / pyramid_pixels;
  }
  int64_t valid_boxes() const;
  int64_t covered_boxes() const;
  int64_t box_appearances() const;
  // Positive chips holding a valid box, per valid box.
  double appearances_per_box() const;
  double covered_fraction() const;
};

// Runs `sniper` for `epoch` over the dataset (with negatives when
// `proposals` is given) and `baseline` (expected WHOLE_IMAGE mode) for the
// single-scale pixels. Coverage is checked box by box against the chips;
// with proposals, so is each scale's proposal recall (IoU >= 0.5, the
// proposals scaled as the chip sampler scales them).
ChipStats ComputeChipStats(const CocoDataset& dataset,
                           const ChipSampler& sniper,
                           const ChipSampler& baseline,
                           const ProposalSet* proposals, uint64_t epoch);

// Human-readable table (per scale and total).
std::string FormatChipStats(const ChipStats& stats);

// Two samplers' accounting side by side (e.g. the paper's against ours):
// per scale chips and canvas pixels per image, totals, the ratios to the
// single-scale baseline and coverage; the last column is b / a.
std::string FormatChipStatsComparison(const ChipStats& a,
                                      const std::string& name_a,
                                      const ChipStats& b,
                                      const std::string& name_b);

// JSON object with stable keys: images, positive_chips, negative_chips,
// chips_per_image, sniper_pixels_per_image, positive_pixels_per_image,
// negative_pixels_per_image, single_scale_pixels_per_image,
// pyramid_pixels_per_image, ratio_vs_single_scale, ratio_vs_pyramid,
// valid_boxes, covered_fraction, and "scales": [{valid_boxes,
// positive_chips, negative_chips, chips_per_image,
// pyramid_pixels_per_image}], with proposals also "proposals_per_image"
// and "proposal_recall" per scale.
std::string ChipStatsToJson(const ChipStats& stats);

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_STATS_H_
