// File: data/chip_sampler.h
//
// The epoch sampler of SNIPER (SNIPER.md sections 3-4): for every image and
// scale, positive chips by greedy cover of the valid boxes and negative chips
// by greedy cover of the proposals outside the positive chips; per image, up
// to `negatives_per_image` negatives are drawn uniformly without
// replacement; the epoch's chips are shuffled. Every random choice derives
// from (seed, epoch, image index), so an epoch is reproducible and images can
// be processed in any order or in parallel with the same result.
//
//   ASSIGN_OR_RETURN(ChipSamplerOptions opts, BuildChipSamplerOptions(cfg));
//   ChipSampler sampler(opts);
//   std::vector<ChipRecord> chips = sampler.Epoch(dataset, &proposals, 0);
#ifndef SNIPER_DATA_CHIP_SAMPLER_H_
#define SNIPER_DATA_CHIP_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/chip_cover.h"
#include "data/chips.h"
#include "data/coco_dataset.h"
#include "data/proposals.h"

namespace sniper::data {

// One chip of an epoch.
struct ChipRecord {
  uint32_t image_index = 0;  // into CocoDataset::images()
  uint16_t scale_index = 0;
  uint8_t negative = 0;  // 1 for a negative chip
  Chip chip;             // window in scaled pixels
};

// All chips of one image in one epoch, before negative sampling.
struct ImageChips {
  struct PerScale {
    ImageAtScale image;
    std::vector<Chip> positives;
    std::vector<Chip> negatives;           // the whole negative pool
    std::vector<int32_t> negative_counts;  // proposals per negative chip
    std::vector<Box> valid_boxes;          // scaled and clipped
    int32_t uncovered = 0;  // valid boxes no chip covers (always 0)
  };
  std::vector<PerScale> scales;
};

// Deterministic 64-bit generator (splitmix64): the same sequence on every
// platform, unlike std:: distributions.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n) (Lemire's multiply-shift; n > 0).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }

 private:
  uint64_t state_;
};

// Scratch memory of chip generation (one per thread).
struct CoverScratch {
  GreedyChipCover greedy;
  ChipCoverOptimizer optimizer;
};

class ChipSampler {
 public:
  // `options` must come from BuildChipSamplerOptions (validated).
  explicit ChipSampler(ChipSamplerOptions options);

  const ChipSamplerOptions& options() const { return options_; }
  int num_scales() const { return static_cast<int>(options_.scales.size()); }

  // Whether `proposals` (read from `source`) can feed this sampler on
  // `dataset`: one proposal list per scale of the sampler, and at least one
  // of the dataset's images in the file (proposals of another dataset would
  // silently give no negative chips). InvalidArgument naming `source`.
  absl::Status CheckProposals(const ProposalSet& proposals,
                              absl::string_view source,
                              const CocoDataset& dataset) const;

  // Chips of image `image_index` in `epoch`. `proposals` may be null (no
  // negatives). `scratch` is reused between calls.
  void GenerateImageChips(const CocoDataset& dataset, size_t image_index,
                          const ProposalSet* proposals, uint64_t epoch,
                          CoverScratch* scratch, ImageChips* out) const;

  // The chip list of one epoch: all positive chips plus the sampled
  // negatives, shuffled if options().shuffle.
  std::vector<ChipRecord> Epoch(const CocoDataset& dataset,
                                const ProposalSet* proposals,
                                uint64_t epoch) const;

  // The stride image `image_index` uses in `epoch`.
  int32_t StrideFor(uint64_t epoch, size_t image_index) const;

  // Per-image random stream for `epoch` (exposed for tests).
  SplitMix64 ImageRng(uint64_t epoch, size_t image_index) const;
  // tight_negatives: each negative chip shrinks to the rectangle of the
  // candidate proposals it holds (it still holds them all).
  void ShrinkNegatives(int scale, absl::Span<const Box> candidates,
                       uint64_t seed, ImageChips::PerScale* ps) const;

 private:
  ChipSamplerOptions options_;
};

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_SAMPLER_H_
