// File: data/synthetic.h
//
// A deterministic synthetic multi-scale detection dataset, written as real
// JPEG files plus COCO instances JSON so that the same reader, sampler and
// loader serve it and COCO alike. It is the embedded default of
// `bazel run //sniper:train` on machines without COCO.
//
// What makes it a multi-scale problem:
//   - images of 480-1600 px per side, textured backgrounds (smooth colour
//     fields, sinusoidal texture, pixel noise);
//   - five classes with distinct geometry, texture or colour: disc, square
//     (with a dark border), triangle, ring, striped bar;
//   - object sizes log-uniform from 14 px to 60% of the shorter side, so
//     small, medium and large (COCO's bins) all occur; crowded groups of
//     8-48 px objects in a fifth of the images; occlusion (later objects are
//     drawn over earlier ones); about 5% of images without objects;
//   - clutter that resembles objects but is not one (outlined boxes,
//     crossed lines, blotches), so negative chips have something to learn.
// Every annotation carries its exact visible mask ("segmentation" as
// compressed RLE: the pixels drawn for it and not drawn over by a later
// object), and COCO's "area" is that mask's pixel count; "bbox" is the
// shape's full box (as drawn, occluded parts included).
#ifndef SNIPER_DATA_SYNTHETIC_H_
#define SNIPER_DATA_SYNTHETIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sniper::data {

struct SyntheticOptions {
  int32_t train_images = 200;
  int32_t val_images = 50;
  uint64_t seed = 0;
  int32_t min_side = 480;
  int32_t max_side = 1600;
  int32_t jpeg_quality = 85;
  // Object sides are log-uniform from min_object_side to 0.6 x the image's
  // short side, capped at max_object_side when that is > 0 (a dataset of
  // tiny objects in large images: large sides, a small cap); crowded groups
  // from 8 / 14 x min_object_side to 48 px, capped the same way. The
  // defaults write the default dataset.
  double min_object_side = 14;
  double max_object_side = 0;
};

// Bumped when the files change meaning; caches of another version are
// rewritten (the FORMAT file in the output directory holds it).
inline constexpr int kSyntheticFormatVersion = 2;

struct SyntheticSplitStats {
  int64_t images = 0;
  int64_t boxes = 0;
  int64_t hidden = 0;  // boxes whose object is drawn over entirely
  int64_t empty_images = 0;
  int64_t max_boxes = 0;
  int64_t small = 0, medium = 0, large = 0;  // sqrt(w*h) < 32, < 96, >= 96
  int64_t bytes = 0;                         // JPEG bytes written
};

extern const char* const kSyntheticClassNames[5];

// Writes <out_dir>/images/{train,val}_%06d.jpg,
// <out_dir>/instances_{train,val}.json and <out_dir>/FORMAT (all
// atomically; FORMAT last). Identical output for identical options.
absl::Status WriteSyntheticDataset(const std::string& out_dir,
                                   const SyntheticOptions& options,
                                   SyntheticSplitStats* train_stats,
                                   SyntheticSplitStats* val_stats);

// Whether <out_dir> holds a complete dataset of kSyntheticFormatVersion.
bool SyntheticDatasetIsCurrent(const std::string& out_dir);

}  // namespace sniper::data

#endif  // SNIPER_DATA_SYNTHETIC_H_
