#include "data/chip_sampler.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace sniper::data {
namespace {

// Stream ids keep the random streams of different purposes independent.
constexpr uint64_t kImageStream = 0x1;
constexpr uint64_t kShuffleStream = 0x2;

uint64_t StreamSeed(uint64_t seed, uint64_t stream, uint64_t epoch,
                    uint64_t index) {
  return Mix64(Mix64(Mix64(seed ^ (stream << 56)) + epoch) + index);
}

}  // namespace

uint64_t SplitMix64::Next() {
  state_ += 0x9E3779B97F4A7C15ull;
  return Mix64(state_);
}

ChipSampler::ChipSampler(ChipSamplerOptions options)
    : options_(std::move(options)) {
  CHECK(!options_.scales.empty()) << "use BuildChipSamplerOptions";
}

absl::Status ChipSampler::CheckProposals(const ProposalSet& proposals,
                                         absl::string_view source,
                                         const CocoDataset& dataset) const {
  if (proposals.num_scales() != num_scales()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " has proposals for ", proposals.num_scales(),
                     " scales but the sampler has ", num_scales(),
                     " (written by an RPN stage with another sampler.scales)"));
  }
  if (proposals.num_images() == 0 || dataset.num_images() == 0) {
    return absl::OkStatus();
  }
  size_t known = 0;
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    known += proposals.Contains(dataset.image(i).id);
  }
  if (known == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": none of its ", proposals.num_images(),
        " images is one of the dataset's ", dataset.num_images(),
        " (proposals of another dataset would give no negative chips)"));
  }
  return absl::OkStatus();
}

SplitMix64 ChipSampler::ImageRng(uint64_t epoch, size_t image_index) const {
  return SplitMix64(
      StreamSeed(options_.seed, kImageStream, epoch, image_index));
}

int32_t ChipSampler::StrideFor(uint64_t epoch, size_t image_index) const {
  if (options_.stride_jitter <= 0) return options_.stride;
  SplitMix64 rng = ImageRng(epoch, image_index);
  return options_.stride +
         static_cast<int32_t>(rng.Below(options_.stride_jitter + 1));
}

void ChipSampler::GenerateImageChips(const CocoDataset& dataset,
                                     size_t image_index,
                                     const ProposalSet* proposals,
                                     uint64_t epoch, CoverScratch* scratch,
                                     ImageChips* out) const {
  GreedyChipCover* cover = &scratch->greedy;
  const CocoImage& img = dataset.image(image_index);
  const absl::Span<const BoxXYWH> boxes = dataset.boxes_of(image_index);
  const absl::Span<const uint8_t> crowd = dataset.crowd_of(image_index);
  SplitMix64 rng = ImageRng(epoch, image_index);
  // The first draw is the stride (StrideFor repeats it).
  int32_t stride = options_.stride;
  if (options_.stride_jitter > 0) {
    stride += static_cast<int32_t>(rng.Below(options_.stride_jitter + 1));
  }
  // Proposals of every scale's RPN run, pooled, each scale's list capped at
  // its top max_proposals_per_scale by score.
  std::vector<Box> pooled;
  if (proposals != nullptr && options_.negatives_per_image > 0 &&
      options_.mode == ChipMode::kChips) {
    std::vector<ScoredBox> top;
    for (int p = 0; p < proposals->num_scales(); ++p) {
      const absl::Span<const ScoredBox> props = proposals->Get(img.id, p);
      top.assign(props.begin(), props.end());
      const size_t keep = static_cast<size_t>(options_.max_proposals_per_scale);
      if (top.size() > keep) {
        std::partial_sort(top.begin(), top.begin() + keep, top.end(),
                          [](const ScoredBox& a, const ScoredBox& b) {
                            return a.score > b.score;
                          });
        top.resize(keep);
      }
      for (const ScoredBox& sb : top) pooled.push_back(sb.box);
    }
  }
  const int num_scales = this->num_scales();
  out->scales.resize(num_scales);
  for (int s = 0; s < num_scales; ++s) {
    ImageChips::PerScale& ps = out->scales[s];
    ps.image = MakeImageAtScale(options_, s, img.width, img.height, stride);
    ps.positives.clear();
    ps.negatives.clear();
    ps.negative_counts.clear();
    ps.valid_boxes.clear();
    ps.uncovered = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (crowd[i]) continue;
      const Box b = ToCorners(boxes[i]);
      if (IsValidAtScale(options_, s, ps.image, b)) {
        ps.valid_boxes.push_back(ScaleAndClip(b, ps.image));
      }
    }
    const uint64_t positive_tie_seed = rng.Next();
    const uint64_t negative_tie_seed = rng.Next();
    if (options_.mode == ChipMode::kWholeImage) {
      ps.positives.push_back(
          {0, 0, ps.image.scaled_width, ps.image.scaled_height});
      continue;
    }
    ps.uncovered =
        cover->Cover(ps.image, options_.chip_size, ps.valid_boxes,
                     positive_tie_seed, /*min_count=*/0, &ps.positives);
    if (options_.cover == CoverKind::kOptimized) {
      scratch->optimizer.Improve(ps.image, options_.shape_rule(s),
                                 ps.valid_boxes, positive_tie_seed,
                                 &ps.positives);
    }

    if (pooled.empty()) continue;
    // Pooled proposals (computed once per image, below), those valid at
    // this scale and not inside a positive chip of this scale.
    std::vector<Box> candidates;
    for (const Box& box : pooled) {
      if (!IsValidAtScale(options_, s, ps.image, box)) continue;
      const Box scaled = ScaleAndClip(box, ps.image);
      bool inside_positive = false;
      for (const Chip& c : ps.positives) {
        if (c.Contains(scaled)) {
          inside_positive = true;
          break;
        }
      }
      if (!inside_positive) candidates.push_back(scaled);
    }
    cover->Cover(ps.image, options_.chip_size, candidates, negative_tie_seed,
                 options_.scales[s].negative_min_proposals, &ps.negatives,
                 &ps.negative_counts);
    if (options_.tight_negatives) {
      ShrinkNegatives(s, candidates, negative_tie_seed, &ps);
    }
  }
}

void ChipSampler::ShrinkNegatives(int scale, absl::Span<const Box> candidates,
                                  uint64_t seed,
                                  ImageChips::PerScale* ps) const {
  const ChipShapeRule rule = options_.shape_rule(scale);
  SplitMix64 rng(Mix64(seed ^ 0x74696768746e6567ull));
  for (Chip& c : ps->negatives) {
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    bool any = false;
    for (const Box& b : candidates) {
      if (!c.Contains(b)) continue;
      x1 = any ? std::min(x1, b.x1) : b.x1;
      y1 = any ? std::min(y1, b.y1) : b.y1;
      x2 = any ? std::max(x2, b.x2) : b.x2;
      y2 = any ? std::max(y2, b.y2) : b.y2;
      any = true;
    }
    const uint64_t rx = rng.Next(), ry = rng.Next();
    if (!any) continue;
    // The rectangle of what it holds, in whole pixels, never outside it.
    c = PlaceWindow(
        ps->image, rule, std::max(c.x1, static_cast<int32_t>(std::floor(x1))),
        std::max(c.y1, static_cast<int32_t>(std::floor(y1))),
        std::min(c.x2, static_cast<int32_t>(std::ceil(x2))),
        std::min(c.y2, static_cast<int32_t>(std::ceil(y2))), rx, ry);
  }
}

std::vector<ChipRecord> ChipSampler::Epoch(const CocoDataset& dataset,
                                           const ProposalSet* proposals,
                                           uint64_t epoch) const {
  std::vector<ChipRecord> records;
  CoverScratch cover;
  ImageChips chips;
  std::vector<std::pair<uint16_t, uint32_t>> pool;  // (scale, index)
  // Image order: shuffled up front when chips stay grouped by image (chips
  // themselves are then not shuffled), else dataset order.
  std::vector<size_t> order(dataset.num_images());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const bool grouped = options_.shuffle && options_.group_by_image;
  if (grouped) {
    SplitMix64 rng(StreamSeed(options_.seed, kShuffleStream, epoch, 1));
    for (size_t k = order.size(); k > 1; --k) {
      std::swap(order[k - 1], order[rng.Below(k)]);
    }
  }
  for (const size_t i : order) {
    GenerateImageChips(dataset, i, proposals, epoch, &cover, &chips);
    pool.clear();
    for (int s = 0; s < num_scales(); ++s) {
      for (const Chip& c : chips.scales[s].positives) {
        records.push_back(
            {static_cast<uint32_t>(i), static_cast<uint16_t>(s), 0, c});
      }
      for (size_t k = 0; k < chips.scales[s].negatives.size(); ++k) {
        pool.emplace_back(static_cast<uint16_t>(s), static_cast<uint32_t>(k));
      }
    }
    if (pool.empty()) continue;
    // Uniform sample without replacement: partial Fisher-Yates on a stream
    // separate from the chip generation's.
    SplitMix64 rng(ImageRng(epoch, i).Next() ^ 0x6E65676174697665ull);
    const size_t take =
        std::min<size_t>(pool.size(), options_.negatives_per_image);
    for (size_t k = 0; k < take; ++k) {
      const size_t j = k + rng.Below(pool.size() - k);
      std::swap(pool[k], pool[j]);
      const auto [s, idx] = pool[k];
      records.push_back(
          {static_cast<uint32_t>(i), s, 1, chips.scales[s].negatives[idx]});
    }
  }
  if (options_.shuffle && !grouped) {
    SplitMix64 rng(StreamSeed(options_.seed, kShuffleStream, epoch, 0));
    for (size_t k = records.size(); k > 1; --k) {
      std::swap(records[k - 1], records[rng.Below(k)]);
    }
  }
  return records;
}

}  // namespace sniper::data
