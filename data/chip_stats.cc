#include "data/chip_stats.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/json_writer.h"

namespace sniper::data {
namespace {

float IoU(const Box& a, const Box& b) {
  const float w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h;
  return inter / (a.width() * a.height() + b.width() * b.height() - inter);
}

// Valid boxes (scaled) that a proposal of the scale (original pixels, scaled
// here once into `scaled`) overlaps with IoU >= 0.5.
int64_t RecalledBoxes(absl::Span<const Box> valid,
                      absl::Span<const ScoredBox> proposals, double scale,
                      std::vector<Box>* scaled) {
  scaled->clear();
  for (const ScoredBox& p : proposals) {
    scaled->push_back({static_cast<float>(p.box.x1 * scale),
                       static_cast<float>(p.box.y1 * scale),
                       static_cast<float>(p.box.x2 * scale),
                       static_cast<float>(p.box.y2 * scale)});
  }
  int64_t n = 0;
  for (const Box& b : valid) {
    n += std::any_of(scaled->begin(), scaled->end(),
                     [&b](const Box& q) { return IoU(b, q) >= 0.5f; });
  }
  return n;
}

}  // namespace

int64_t ChipStats::valid_boxes() const {
  int64_t n = 0;
  for (const auto& s : scales) n += s.valid_boxes;
  return n;
}

int64_t ChipStats::covered_boxes() const {
  int64_t n = 0;
  for (const auto& s : scales) n += s.covered_boxes;
  return n;
}

int64_t ChipStats::box_appearances() const {
  int64_t n = 0;
  for (const auto& s : scales) n += s.box_appearances;
  return n;
}

double ChipStats::appearances_per_box() const {
  const int64_t valid = valid_boxes();
  return valid == 0 ? 0.0 : static_cast<double>(box_appearances()) / valid;
}

double ChipStats::covered_fraction() const {
  const int64_t valid = valid_boxes();
  return valid == 0 ? 1.0 : static_cast<double>(covered_boxes()) / valid;
}

ChipStats ComputeChipStats(const CocoDataset& dataset,
                           const ChipSampler& sniper,
                           const ChipSampler& baseline,
                           const ProposalSet* proposals, uint64_t epoch) {
  ChipStats stats;
  stats.images = static_cast<int64_t>(dataset.num_images());
  stats.scales.resize(sniper.num_scales());
  stats.has_proposals = proposals != nullptr;
  const ChipSamplerOptions& opts = sniper.options();

  // The epoch as training sees it: positives + sampled negatives.
  for (const ChipRecord& r : sniper.Epoch(dataset, proposals, epoch)) {
    ScaleChipStats& s = stats.scales[r.scale_index];
    const int64_t pixels = CanvasPixels(opts, r.chip);
    s.pixels += pixels;
    if (r.negative) {
      ++s.negative_chips;
      ++stats.negative_chips;
      stats.negative_pixels += pixels;
    } else {
      ++s.positive_chips;
      ++stats.positive_chips;
      stats.positive_pixels += pixels;
    }
  }

  // Coverage, box by box, against the same (deterministic) chips; the
  // pyramid and negative-pool sizes.
  CoverScratch cover;
  ImageChips chips;
  std::vector<Box> scaled_proposals;
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    sniper.GenerateImageChips(dataset, i, proposals, epoch, &cover, &chips);
    for (int s = 0; s < sniper.num_scales(); ++s) {
      const ImageChips::PerScale& ps = chips.scales[s];
      ScaleChipStats& st = stats.scales[s];
      st.pyramid_pixels +=
          static_cast<int64_t>(ps.image.scaled_width) * ps.image.scaled_height;
      st.negative_pool += static_cast<int64_t>(ps.negatives.size());
      st.valid_boxes += static_cast<int64_t>(ps.valid_boxes.size());
      if (proposals != nullptr && s < proposals->num_scales()) {
        const auto props = proposals->Get(dataset.image(i).id, s);
        st.proposals += static_cast<int64_t>(props.size());
        st.recalled_boxes += RecalledBoxes(ps.valid_boxes, props,
                                           ps.image.scale, &scaled_proposals);
      }
      for (const Box& b : ps.valid_boxes) {
        int64_t holding = 0;
        for (const Chip& c : ps.positives) holding += c.Contains(b);
        st.covered_boxes += holding > 0;
        st.box_appearances += holding;
      }
    }
    baseline.GenerateImageChips(dataset, i, nullptr, epoch, &cover, &chips);
    for (const auto& ps : chips.scales) {
      stats.single_scale_pixels +=
          static_cast<int64_t>(ps.image.scaled_width) * ps.image.scaled_height;
    }
  }
  for (const auto& s : stats.scales) stats.pyramid_pixels += s.pyramid_pixels;
  return stats;
}

std::string FormatChipStats(const ChipStats& st) {
  std::string out;
  absl::StrAppendFormat(&out, "%-8s %12s %10s %10s %10s %14s %16s\n", "scale",
                        "valid boxes", "pos chips", "neg chips", "chips/img",
                        "chip px/img", "pyramid px/img");
  for (size_t s = 0; s < st.scales.size(); ++s) {
    const ScaleChipStats& x = st.scales[s];
    absl::StrAppendFormat(&out, "%-8d %12d %10d %10d %10.3f %14.0f %16.0f\n", s,
                          x.valid_boxes, x.positive_chips, x.negative_chips,
                          st.per_image(x.positive_chips + x.negative_chips),
                          st.per_image(x.pixels),
                          st.per_image(x.pyramid_pixels));
  }
  absl::StrAppendFormat(
      &out, "%-8s %12d %10d %10d %10.3f %14.0f %16.0f\n", "total",
      st.valid_boxes(), st.positive_chips, st.negative_chips,
      st.per_image(st.positive_chips + st.negative_chips),
      st.per_image(st.sniper_pixels()), st.per_image(st.pyramid_pixels));
  absl::StrAppendFormat(&out, "\nimages                          %d\n",
                        st.images);
  absl::StrAppendFormat(
      &out,
      "SNIPER pixels / image           %.0f (positives %.0f, negatives %.0f)\n",
      st.per_image(st.sniper_pixels()), st.per_image(st.positive_pixels),
      st.per_image(st.negative_pixels));
  absl::StrAppendFormat(&out, "single-scale pixels / image     %.0f\n",
                        st.per_image(st.single_scale_pixels));
  absl::StrAppendFormat(&out, "3-scale pyramid pixels / image  %.0f\n",
                        st.per_image(st.pyramid_pixels));
  absl::StrAppendFormat(&out, "SNIPER / single-scale           %.4f\n",
                        st.ratio_vs_single_scale());
  absl::StrAppendFormat(&out, "SNIPER / pyramid                %.4f\n",
                        st.ratio_vs_pyramid());
  absl::StrAppendFormat(
      &out, "covered fraction of valid boxes %.6f (%d of %d)\n",
      st.covered_fraction(), st.covered_boxes(), st.valid_boxes());
  absl::StrAppendFormat(&out, "positive chips per valid box     %.4f\n",
                        st.appearances_per_box());
  if (st.has_proposals) {
    for (size_t s = 0; s < st.scales.size(); ++s) {
      const ScaleChipStats& x = st.scales[s];
      absl::StrAppendFormat(
          &out,
          "scale %d: %.1f proposals/img, recall@0.5 of valid boxes %.4f "
          "(%d of %d)\n",
          s, st.per_image(x.proposals), x.recall(), x.recalled_boxes,
          x.valid_boxes);
    }
  }
  return out;
}

std::string FormatChipStatsComparison(const ChipStats& a,
                                      const std::string& name_a,
                                      const ChipStats& b,
                                      const std::string& name_b) {
  std::string out;
  absl::StrAppendFormat(&out, "%-26s %14s %14s %8s\n", "per image", name_a,
                        name_b, "b / a");
  auto line = [&out](const std::string& what, double x, double y,
                     bool integer) {
    const std::string ratio =
        x == 0 ? std::string("-") : absl::StrFormat("%.3f", y / x);
    if (integer) {
      absl::StrAppendFormat(&out, "%-26s %14.0f %14.0f %8s\n", what, x, y,
                            ratio);
    } else {
      absl::StrAppendFormat(&out, "%-26s %14.3f %14.3f %8s\n", what, x, y,
                            ratio);
    }
  };
  const size_t n = std::min(a.scales.size(), b.scales.size());
  for (size_t s = 0; s < n; ++s) {
    const ScaleChipStats& x = a.scales[s];
    const ScaleChipStats& y = b.scales[s];
    line(absl::StrCat("scale ", s, " chips"),
         a.per_image(x.positive_chips + x.negative_chips),
         b.per_image(y.positive_chips + y.negative_chips), false);
    line(absl::StrCat("scale ", s, " canvas pixels"), a.per_image(x.pixels),
         b.per_image(y.pixels), true);
  }
  line("chips", a.per_image(a.positive_chips + a.negative_chips),
       b.per_image(b.positive_chips + b.negative_chips), false);
  line("positive pixels", a.per_image(a.positive_pixels),
       b.per_image(b.positive_pixels), true);
  line("negative pixels", a.per_image(a.negative_pixels),
       b.per_image(b.negative_pixels), true);
  line("SNIPER pixels", a.per_image(a.sniper_pixels()),
       b.per_image(b.sniper_pixels()), true);
  line("SNIPER / single-scale", a.ratio_vs_single_scale(),
       b.ratio_vs_single_scale(), false);
  line("covered fraction", a.covered_fraction(), b.covered_fraction(), false);
  line("chips per valid box", a.appearances_per_box(), b.appearances_per_box(),
       false);
  return out;
}

std::string ChipStatsToJson(const ChipStats& st) {
  JsonWriter json(/*break_depth=*/2);
  json.BeginObject();
  json.Key("images").Int(st.images);
  json.Key("positive_chips").Int(st.positive_chips);
  json.Key("negative_chips").Int(st.negative_chips);
  json.Key("chips_per_image")
      .Fixed(st.per_image(st.positive_chips + st.negative_chips), 6);
  json.Key("sniper_pixels_per_image")
      .Fixed(st.per_image(st.sniper_pixels()), 3);
  json.Key("positive_pixels_per_image")
      .Fixed(st.per_image(st.positive_pixels), 3);
  json.Key("negative_pixels_per_image")
      .Fixed(st.per_image(st.negative_pixels), 3);
  json.Key("single_scale_pixels_per_image")
      .Fixed(st.per_image(st.single_scale_pixels), 3);
  json.Key("pyramid_pixels_per_image")
      .Fixed(st.per_image(st.pyramid_pixels), 3);
  json.Key("ratio_vs_single_scale").Fixed(st.ratio_vs_single_scale(), 6);
  json.Key("ratio_vs_pyramid").Fixed(st.ratio_vs_pyramid(), 6);
  json.Key("valid_boxes").Int(st.valid_boxes());
  json.Key("covered_fraction").Fixed(st.covered_fraction(), 6);
  json.Key("appearances_per_box").Fixed(st.appearances_per_box(), 6);
  json.Key("scales").BeginArray();
  for (const ScaleChipStats& x : st.scales) {
    json.BeginObject();
    json.Key("valid_boxes").Int(x.valid_boxes);
    json.Key("positive_chips").Int(x.positive_chips);
    json.Key("negative_chips").Int(x.negative_chips);
    json.Key("chips_per_image")
        .Fixed(st.per_image(x.positive_chips + x.negative_chips), 6);
    json.Key("pixels_per_image").Fixed(st.per_image(x.pixels), 3);
    json.Key("pyramid_pixels_per_image")
        .Fixed(st.per_image(x.pyramid_pixels), 3);
    if (st.has_proposals) {
      json.Key("proposals_per_image").Fixed(st.per_image(x.proposals), 3);
      json.Key("proposal_recall").Fixed(x.recall(), 6);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return json.Finish();
}

}  // namespace sniper::data
