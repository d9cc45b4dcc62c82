// File: data/testing/sampler_options.h
//
// Chip sampler options the data/ tests share: the paper's three COCO scales
// and a single scale by factor. Header-only, test-only.
#ifndef SNIPER_DATA_TESTING_SAMPLER_OPTIONS_H_
#define SNIPER_DATA_TESTING_SAMPLER_OPTIONS_H_

#include "data/chips.h"

namespace sniper::testing {

// (1400, 2000) [0, 80), (800, 1280) [32, 150), long side 512 [120, inf).
inline data::ChipSamplerOptions ThreeScales() {
  using data::ScaleSpec;
  data::ChipSamplerOptions o;
  ScaleSpec fine;
  fine.kind = ScaleSpec::Kind::kResolution;
  fine.short_side = 1400;
  fine.max_long_side = 2000;
  fine.valid_max = 80;
  fine.negative_min_proposals = 25;
  ScaleSpec middle;
  middle.kind = ScaleSpec::Kind::kResolution;
  middle.short_side = 800;
  middle.max_long_side = 1280;
  middle.valid_min = 32;
  middle.valid_max = 150;
  ScaleSpec coarse;
  coarse.kind = ScaleSpec::Kind::kLongSide;
  coarse.long_side = 512;
  coarse.valid_min = 120;
  o.scales = {fine, middle, coarse};
  return o;
}

// One scale resized by `factor`; negatives need more than 3 proposals.
inline data::ChipSamplerOptions OneFactorScale(double factor) {
  using data::ScaleSpec;
  data::ChipSamplerOptions o;
  ScaleSpec s;
  s.kind = ScaleSpec::Kind::kFactor;
  s.factor = factor;
  s.negative_min_proposals = 3;
  o.scales = {s};
  return o;
}

}  // namespace sniper::testing

#endif  // SNIPER_DATA_TESTING_SAMPLER_OPTIONS_H_
