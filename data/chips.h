// File: data/chips.h
//
// SNIPER's chip generation for one image (SNIPER.md sections 2-5): scale
// selection, valid boxes, positive chips by greedy cover, negative chips from
// proposals, and the labels of a chip (valid boxes and ignore regions).
// Plain structs, no protobuf, no torch: data/chip_sampler_builder.h builds
// ChipSamplerOptions from a ChipSamplerConfig message.
//
// Coordinates: boxes are corner form (x1, y1, x2, y2) with x2 exclusive, in
// ORIGINAL image pixels unless a name says "scaled". A scaled coordinate is
// original * scale; the scaled image is round(w * scale) x round(h * scale)
// (ties to even).
//
// Greedy cover, fast: a chip at grid position (x, y) covers box b iff
// x <= b.x1 and x + chip >= b.x2 (likewise in y), so the chips covering b form
// a rectangle of grid cells. Coverage counts are kept on the grid; picking a
// chip subtracts the rectangles of the boxes it covers. Cost per image and
// scale is O(boxes * cells-per-box + iterations * grid cells), with no
// allocation once the scratch buffers have grown.
#ifndef SNIPER_DATA_CHIPS_H_
#define SNIPER_DATA_CHIPS_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/types/span.h"
#include "data/coco_dataset.h"

namespace sniper::data {

// Corner-form box, x2/y2 exclusive.
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

inline Box ToCorners(const BoxXYWH& b) {
  return {b.x, b.y, b.x + b.w, b.y + b.h};
}

struct ScaleSpec {
  enum class Kind { kFactor, kResolution, kLongSide };
  Kind kind = Kind::kFactor;
  double factor = 1.0;        // kFactor
  int32_t short_side = 0;     // kResolution
  int32_t max_long_side = 0;  // kResolution
  int32_t long_side = 0;      // kLongSide
  // Valid range of sqrt(w * h) in original pixels: [valid_min, valid_max).
  float valid_min = 0;
  float valid_max = std::numeric_limits<float>::infinity();
  // A negative chip needs MORE than this many proposals.
  int32_t negative_min_proposals = 10;
  // Tight canvases: this scale's smallest window side (0: the sampler's).
  int32_t min_chip_size = 0;
  // Test scales only (ScaleUse::kTest): post-NMS proposals per view at
  // this scale; 0: the model's test_proposals.
  int32_t test_post_nms_top_n = 0;
};

enum class ChipMode { kChips, kWholeImage };

// A chip: a window of the scaled image, integer scaled pixels, x2/y2
// exclusive. Its canvas (the network input it costs) is given by
// ChipShapeRule in kChips mode: chip_size x chip_size, padded, by default;
// the whole scaled image in kWholeImage mode.
struct Chip {
  int32_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  bool operator==(const Chip& o) const {
    return x1 == o.x1 && y1 == o.y1 && x2 == o.x2 && y2 == o.y2;
  }
  bool Contains(const Box& scaled) const {
    return x1 <= scaled.x1 && y1 <= scaled.y1 && scaled.x2 <= x2 &&
           scaled.y2 <= y2;
  }
};

// How positive chips are chosen: the paper's greedy cover, or greedy
// followed by a local search for fewer canvas pixels (data/chip_cover.h).
enum class CoverKind { kGreedy, kOptimized };

// The shapes a chip may take, and what its canvas costs.
struct ChipShapeRule {
  int32_t chip_size = 512;  // largest window side
  // Tight canvases only: smallest window side where the image is larger
  // than chip_size (a multiple of `step`, <= chip_size).
  int32_t min_side = 512;
  // Tight canvases only: canvas sides are multiples of this.
  int32_t step = 32;
  // False: every canvas is chip_size x chip_size (padding included), and
  // windows are chip_size wide where the image allows. True: the canvas is
  // the window rounded up to `step`, and windows shrink to their boxes.
  bool tight = false;

  // Canvas side for a window side (window <= chip_size).
  int32_t CanvasSide(int32_t window) const {
    return tight ? (window + step - 1) / step * step : chip_size;
  }
  int64_t CanvasPixels(const Chip& chip) const {
    return static_cast<int64_t>(CanvasSide(chip.x2 - chip.x1)) *
           CanvasSide(chip.y2 - chip.y1);
  }
};

struct ChipSamplerOptions {
  std::vector<ScaleSpec> scales;
  ChipMode mode = ChipMode::kChips;
  int32_t chip_size = 512;
  int32_t stride = 32;
  int32_t stride_jitter = 0;
  float min_box_size_in_chip = 2.0f;
  int32_t negatives_per_image = 2;
  int32_t max_proposals_per_scale = 300;
  bool crowd_as_ignore = true;
  uint64_t seed = 0;
  bool shuffle = true;
  bool group_by_image = false;
  CoverKind cover = CoverKind::kGreedy;
  bool tight_canvas = false;
  int32_t min_chip_size = 0;     // tight canvases: smallest side; 0 = chip_size
  int32_t canvas_step = 32;      // tight canvases: sides are multiples of this
  bool tight_negatives = false;  // tight canvases: negatives shrink too

  int32_t max_stride() const { return stride + stride_jitter; }
  // The canvas rule; windows' smallest side is the sampler's min_chip_size
  // (CanvasSide and CanvasPixels do not depend on it).
  ChipShapeRule shape_rule() const {
    return {chip_size, min_chip_size > 0 ? min_chip_size : chip_size,
            canvas_step, tight_canvas};
  }
  // The rule of scale `s`: its own min_chip_size where set.
  ChipShapeRule shape_rule(int s) const {
    ChipShapeRule rule = shape_rule();
    if (scales[s].min_chip_size > 0) rule.min_side = scales[s].min_chip_size;
    return rule;
  }
};

// Network input pixels of a chip: its canvas under options.shape_rule() in
// kChips mode, the window's area in kWholeImage mode.
inline int64_t CanvasPixels(const ChipSamplerOptions& options,
                            const Chip& chip) {
  if (options.mode == ChipMode::kWholeImage) {
    return static_cast<int64_t>(chip.x2 - chip.x1) * (chip.y2 - chip.y1);
  }
  return options.shape_rule().CanvasPixels(chip);
}

// The factor that maps an image of this size to the scale's resolution.
double ComputeScale(const ScaleSpec& spec, int32_t width, int32_t height);

// round(side * scale) with ties to even, at least 1.
int32_t ScaledSide(int32_t side, double scale);

// Everything about one image at one scale that chip generation needs.
struct ImageAtScale {
  double scale = 1.0;
  int32_t scaled_width = 0;
  int32_t scaled_height = 0;
  int32_t stride = 32;  // this epoch's stride
};

ImageAtScale MakeImageAtScale(const ChipSamplerOptions& options,
                              int scale_index, int32_t width, int32_t height,
                              int32_t stride);

// Whether a (non-crowd) box is valid at a scale: size in range and, in
// kChips mode, small enough to fit a chip at the largest stride.
bool IsValidAtScale(const ChipSamplerOptions& options, int scale_index,
                    const ImageAtScale& image, const Box& box);

// The box scaled and clipped to the scaled image.
Box ScaleAndClip(const Box& box, const ImageAtScale& image);

// Candidate chip positions along one axis: 0, stride, 2*stride, ... below
// side - chip, plus side - chip (flush with the far border); just {0} when
// side <= chip. Returns the window extent (min(chip, side)).
int32_t CandidatePositions(int32_t side, int32_t chip, int32_t stride,
                           std::vector<int32_t>* positions);

// Greedy cover of scaled boxes by chips, reusing scratch memory between
// calls. Not thread-safe; use one per thread.
class GreedyChipCover {
 public:
  // Appends to `chips` the chips that cover every box in `scaled_boxes`
  // (boxes already scaled and clipped), picking each time the candidate that
  // covers the most uncovered boxes; ties go to the first candidate in a
  // pseudo-random order fixed by `tie_seed`. Stops early when the best
  // candidate covers <= `min_count` boxes (0 for positives: cover all).
  // If `counts` is given, appends the number of boxes each chip covered when
  // it was picked. Returns the number of boxes no candidate can cover (0 for
  // boxes that satisfy IsValidAtScale).
  int Cover(const ImageAtScale& image, int32_t chip_size,
            absl::Span<const Box> scaled_boxes, uint64_t tie_seed,
            int min_count, std::vector<Chip>* chips,
            std::vector<int32_t>* counts = nullptr);

 private:
  std::vector<int32_t> xs_, ys_;
  std::vector<int32_t> grid_;
  struct Rect {
    int32_t c0, c1, r0, r1;
  };
  std::vector<Rect> rects_;
  std::vector<uint8_t> covered_;
};

// splitmix64's finalizer: a well-mixed 64-bit hash of `z`. The basis of
// every seeded choice in data/ (same values on every platform).
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The pseudo-random rank of candidate `cell` under `tie_seed` (lower wins
// ties). Exposed so that reference implementations in tests agree.
uint64_t TieRank(uint64_t tie_seed, uint32_t cell);

// Labels of one chip, in chip coordinates (scaled pixels relative to the
// chip's top-left corner; the chip is [0, x2-x1) x [0, y2-y1)).
struct ChipLabels {
  std::vector<Box> boxes;       // valid ground truth
  std::vector<int32_t> labels;  // contiguous label per box
  // Per valid box: its annotation's position in the image's boxes
  // (CocoDataset::boxes_of), e.g. to find its segmentation.
  std::vector<int32_t> box_index;
  std::vector<Box> ignore;            // ignore regions (clipped)
  std::vector<uint8_t> ignore_crowd;  // per ignore region: 1 = crowd region
  int32_t dropped = 0;  // overlapping boxes under min size after clip
  // The chip's scale (image pixel x -> scaled pixel x * scale), so that
  // image-space ground truth (segmentations) can be mapped into the chip.
  double scale = 1.0;
  // The scale's valid range of sqrt(w * h) in chip pixels (the range in
  // image pixels times `scale`): proposals outside it are left out of the
  // RCNN head's training (SNIPER.md sections 5 and 10).
  float valid_min = 0;
  float valid_max = std::numeric_limits<float>::infinity();
};

// Assigns the image's ground truth to a chip (SNIPER.md section 5): a box is
// valid in the chip if it is valid at the chip's scale and lies entirely
// inside the chip; any other box overlapping the chip (out of range, cut by
// the border, crowd) becomes an ignore region. Boxes whose clipped part is
// under options.min_box_size_in_chip in width or height are dropped.
void AssignChipLabels(const ChipSamplerOptions& options, int scale_index,
                      const ImageAtScale& image, const Chip& chip,
                      absl::Span<const BoxXYWH> boxes,
                      absl::Span<const int32_t> labels,
                      absl::Span<const uint8_t> crowd, ChipLabels* out);

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIPS_H_
