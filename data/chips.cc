#include "data/chips.h"

#include <algorithm>
#include <cmath>

#include "glog/logging.h"

namespace sniper::data {

double ComputeScale(const ScaleSpec& spec, int32_t width, int32_t height) {
  const double short_side = std::min(width, height);
  const double long_side = std::max(width, height);
  switch (spec.kind) {
    case ScaleSpec::Kind::kFactor:
      return spec.factor;
    case ScaleSpec::Kind::kResolution: {
      double s = spec.short_side / short_side;
      if (long_side * s > spec.max_long_side)
        s = spec.max_long_side / long_side;
      return s;
    }
    case ScaleSpec::Kind::kLongSide:
      return spec.long_side / long_side;
  }
  LOG(FATAL) << "unknown ScaleSpec kind";
  return 1.0;
}

int32_t ScaledSide(int32_t side, double scale) {
  // Round half to even (std::nearbyint in the default rounding mode), as
  // Python's round(), NumPy and torch.round do.
  return std::max<int32_t>(1,
                           static_cast<int32_t>(std::nearbyint(side * scale)));
}

ImageAtScale MakeImageAtScale(const ChipSamplerOptions& options,
                              int scale_index, int32_t width, int32_t height,
                              int32_t stride) {
  ImageAtScale image;
  image.scale = ComputeScale(options.scales[scale_index], width, height);
  image.scaled_width = ScaledSide(width, image.scale);
  image.scaled_height = ScaledSide(height, image.scale);
  image.stride = stride;
  return image;
}

bool IsValidAtScale(const ChipSamplerOptions& options, int scale_index,
                    const ImageAtScale& image, const Box& box) {
  const float w = box.width(), h = box.height();
  if (!(w > 0.0f) || !(h > 0.0f)) return false;
  const ScaleSpec& spec = options.scales[scale_index];
  const float size = std::sqrt(w * h);
  if (size < spec.valid_min || size >= spec.valid_max) return false;
  if (options.mode == ChipMode::kWholeImage) return true;
  // A box must fit a chip on the grid of the largest stride, with one pixel
  // of slack for rounding, so that greedy cover can always cover it. Along an
  // axis where the whole scaled image fits in one chip, every box fits.
  const double limit = options.chip_size - options.max_stride() - 1;
  if (image.scaled_width > options.chip_size && w * image.scale > limit) {
    return false;
  }
  if (image.scaled_height > options.chip_size && h * image.scale > limit) {
    return false;
  }
  return true;
}

Box ScaleAndClip(const Box& box, const ImageAtScale& image) {
  const double s = image.scale;
  const float W = static_cast<float>(image.scaled_width);
  const float H = static_cast<float>(image.scaled_height);
  return {std::clamp(static_cast<float>(box.x1 * s), 0.0f, W),
          std::clamp(static_cast<float>(box.y1 * s), 0.0f, H),
          std::clamp(static_cast<float>(box.x2 * s), 0.0f, W),
          std::clamp(static_cast<float>(box.y2 * s), 0.0f, H)};
}

int32_t CandidatePositions(int32_t side, int32_t chip, int32_t stride,
                           std::vector<int32_t>* positions) {
  positions->clear();
  if (side <= chip) {
    positions->push_back(0);
    return side;
  }
  for (int32_t p = 0; p < side - chip; p += stride) positions->push_back(p);
  positions->push_back(side - chip);
  return chip;
}

uint64_t TieRank(uint64_t tie_seed, uint32_t cell) {
  // splitmix64 finalizer over (seed, cell): a fixed pseudo-random order of
  // candidates, as the reference's shuffle of candidate chips.
  uint64_t z =
      tie_seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(cell) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {

// Indices [first, last] of positions p with lo <= p and p <= hi.
inline void IndexRange(const std::vector<int32_t>& positions, float lo,
                       float hi, int32_t* first, int32_t* last) {
  *first = static_cast<int32_t>(
      std::lower_bound(positions.begin(), positions.end(), lo,
                       [](int32_t p, float v) { return p < v; }) -
      positions.begin());
  *last = static_cast<int32_t>(
              std::upper_bound(positions.begin(), positions.end(), hi,
                               [](float v, int32_t p) { return v < p; }) -
              positions.begin()) -
          1;
}

}  // namespace

int GreedyChipCover::Cover(const ImageAtScale& image, int32_t chip_size,
                           absl::Span<const Box> scaled_boxes,
                           uint64_t tie_seed, int min_count,
                           std::vector<Chip>* chips,
                           std::vector<int32_t>* counts) {
  const int32_t ext_x =
      CandidatePositions(image.scaled_width, chip_size, image.stride, &xs_);
  const int32_t ext_y =
      CandidatePositions(image.scaled_height, chip_size, image.stride, &ys_);
  const int32_t ncols = static_cast<int32_t>(xs_.size());
  const int32_t nrows = static_cast<int32_t>(ys_.size());
  grid_.assign(static_cast<size_t>(ncols) * nrows, 0);
  rects_.resize(scaled_boxes.size());
  covered_.assign(scaled_boxes.size(), 0);

  int uncoverable = 0;
  int remaining = 0;
  for (size_t i = 0; i < scaled_boxes.size(); ++i) {
    const Box& b = scaled_boxes[i];
    Rect& r = rects_[i];
    // Chip at x covers b along x iff x <= b.x1 and x + ext_x >= b.x2.
    IndexRange(xs_, b.x2 - ext_x, b.x1, &r.c0, &r.c1);
    IndexRange(ys_, b.y2 - ext_y, b.y1, &r.r0, &r.r1);
    if (r.c0 > r.c1 || r.r0 > r.r1) {
      ++uncoverable;
      covered_[i] = 1;  // never counted
      continue;
    }
    ++remaining;
    for (int32_t row = r.r0; row <= r.r1; ++row) {
      int32_t* line = grid_.data() + static_cast<size_t>(row) * ncols;
      for (int32_t col = r.c0; col <= r.c1; ++col) ++line[col];
    }
  }

  const int32_t cells = ncols * nrows;
  while (remaining > 0) {
    int32_t best = 0;
    int32_t best_cell = -1;
    uint64_t best_rank = 0;
    for (int32_t cell = 0; cell < cells; ++cell) {
      const int32_t v = grid_[cell];
      if (v < best || v == 0) continue;
      const uint64_t rank = TieRank(tie_seed, static_cast<uint32_t>(cell));
      if (v > best || rank < best_rank) {
        best = v;
        best_cell = cell;
        best_rank = rank;
      }
    }
    if (best <= min_count) break;
    const int32_t col = best_cell % ncols;
    const int32_t row = best_cell / ncols;
    chips->push_back({xs_[col], ys_[row], xs_[col] + ext_x, ys_[row] + ext_y});
    if (counts != nullptr) counts->push_back(best);
    for (size_t i = 0; i < scaled_boxes.size(); ++i) {
      if (covered_[i]) continue;
      const Rect& r = rects_[i];
      if (col < r.c0 || col > r.c1 || row < r.r0 || row > r.r1) continue;
      covered_[i] = 1;
      --remaining;
      for (int32_t rr = r.r0; rr <= r.r1; ++rr) {
        int32_t* line = grid_.data() + static_cast<size_t>(rr) * ncols;
        for (int32_t cc = r.c0; cc <= r.c1; ++cc) --line[cc];
      }
    }
  }
  return uncoverable;
}

void AssignChipLabels(const ChipSamplerOptions& options, int scale_index,
                      const ImageAtScale& image, const Chip& chip,
                      absl::Span<const BoxXYWH> boxes,
                      absl::Span<const int32_t> labels,
                      absl::Span<const uint8_t> crowd, ChipLabels* out) {
  out->boxes.clear();
  out->labels.clear();
  out->box_index.clear();
  out->ignore.clear();
  out->ignore_crowd.clear();
  out->dropped = 0;
  out->scale = image.scale;
  const ScaleSpec& spec = options.scales[scale_index];
  out->valid_min = static_cast<float>(spec.valid_min * image.scale);
  out->valid_max = static_cast<float>(spec.valid_max * image.scale);
  const float cw = static_cast<float>(chip.x2 - chip.x1);
  const float ch = static_cast<float>(chip.y2 - chip.y1);
  const float ox = static_cast<float>(chip.x1);
  const float oy = static_cast<float>(chip.y1);
  const float min_size = options.min_box_size_in_chip;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const bool is_crowd = crowd[i] != 0;
    if (is_crowd && !options.crowd_as_ignore) continue;
    const Box original = ToCorners(boxes[i]);
    const Box scaled = ScaleAndClip(original, image);
    const Box rel{scaled.x1 - ox, scaled.y1 - oy, scaled.x2 - ox,
                  scaled.y2 - oy};
    const Box clipped{std::max(rel.x1, 0.0f), std::max(rel.y1, 0.0f),
                      std::min(rel.x2, cw), std::min(rel.y2, ch)};
    if (!(clipped.x2 > clipped.x1) || !(clipped.y2 > clipped.y1)) continue;
    if (clipped.width() < min_size || clipped.height() < min_size) {
      ++out->dropped;
      continue;
    }
    const bool valid = !is_crowd && chip.Contains(scaled) &&
                       IsValidAtScale(options, scale_index, image, original);
    if (valid) {
      out->boxes.push_back(rel);
      out->labels.push_back(labels[i]);
      out->box_index.push_back(static_cast<int32_t>(i));
    } else {
      out->ignore.push_back(clipped);
      out->ignore_crowd.push_back(is_crowd ? 1 : 0);
    }
  }
}

}  // namespace sniper::data
