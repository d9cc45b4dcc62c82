#include "data/scale_suggestion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_sampler_builder.h"
#include "data/chip_stats.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Status CheckOptions(const ScaleSuggestionOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("ScaleSuggestionOptions: ", what));
  };
  if (!(o.anchor_min > 0) || !(o.anchor_max > o.anchor_min)) {
    return bad("need 0 < anchor_min < anchor_max");
  }
  if (!(o.overlap >= 1)) return bad("overlap must be >= 1");
  if (o.max_scales < 1 || o.max_scales > 5) return bad("max_scales: 1..5");
  if (!(o.min_factor > 0) || !(o.max_factor >= o.min_factor)) {
    return bad("need 0 < min_factor <= max_factor");
  }
  if (o.steps_per_octave < 1 || o.steps_per_octave > 12) {
    return bad("steps_per_octave: 1..12");
  }
  if (!(o.small_quantile >= 0) || !(o.small_quantile < 1)) {
    return bad("small_quantile must be in [0, 1)");
  }
  return absl::OkStatus();
}

// Grid factors 2^(j / steps) in [min, max], largest first.
std::vector<double> FactorGrid(const ScaleSuggestionOptions& o) {
  const int s = o.steps_per_octave;
  const int lo =
      static_cast<int>(std::ceil(std::log2(o.min_factor) * s - 1e-9));
  const int hi =
      static_cast<int>(std::floor(std::log2(o.max_factor) * s + 1e-9));
  std::vector<double> grid;
  for (int j = hi; j >= lo; --j) grid.push_back(std::exp2(double(j) / s));
  return grid;
}

// The valid ranges of `factors` (see the header); false when adjacent
// ranges leave a gap.
bool Ranges(const std::vector<double>& f, const ScaleSuggestionOptions& o,
            std::vector<double>* lo, std::vector<double>* hi) {
  const size_t k = f.size();
  lo->assign(k, 0);
  hi->assign(k, kInf);
  for (size_t i = 1; i < k; ++i) (*lo)[i] = o.anchor_min / f[i];
  for (size_t i = 0; i + 1 < k; ++i) {
    (*hi)[i] = std::min(o.anchor_max / f[i], o.overlap * (*lo)[i + 1]);
    if (!((*hi)[i] > (*lo)[i + 1])) return false;
  }
  return true;
}

// Fraction of `sides` (sorted) from index `first` on that lie in their
// scale's anchor range at some scale.
double Anchored(const std::vector<double>& sides, size_t first,
                const std::vector<double>& f, const std::vector<double>& lo,
                const std::vector<double>& hi,
                const ScaleSuggestionOptions& o) {
  if (first >= sides.size()) return 1;
  int64_t n = 0;
  for (size_t i = first; i < sides.size(); ++i) {
    const double s = sides[i];
    for (size_t k = 0; k < f.size(); ++k) {
      if (s >= lo[k] && s < hi[k] && f[k] * s >= o.anchor_min * (1 - 1e-9) &&
          f[k] * s <= o.anchor_max * (1 + 1e-9)) {
        ++n;
        break;
      }
    }
  }
  return static_cast<double>(n) / (sides.size() - first);
}

ChipSamplerConfig WithScales(const ChipSamplerConfig& base,
                             const std::vector<double>& f,
                             const std::vector<double>& lo,
                             const std::vector<double>& hi) {
  ChipSamplerConfig c = base;
  c.clear_scales();
  for (size_t k = 0; k < f.size(); ++k) {
    ScaleConfig* s = c.add_scales();
    if (base.scales_size() > 0) {
      *s = base.scales(std::min<int>(k, base.scales_size() - 1));
    }
    s->mutable_size()->set_factor(f[k]);
    s->mutable_valid_range()->set_min(static_cast<float>(lo[k]));
    s->mutable_valid_range()->set_max(static_cast<float>(hi[k]));
  }
  return c;
}

// Measures one candidate with the sampler's pixel accounting.
absl::StatusOr<ScaleChoice> Measure(const CocoDataset& ds,
                                    const std::vector<double>& f,
                                    const std::vector<double>& lo,
                                    const std::vector<double>& hi,
                                    const ChipSampler& baseline,
                                    const ScaleSuggestionOptions& o) {
  ScaleChoice c;
  c.factors = f;
  c.valid_min = lo;
  c.valid_max = hi;
  c.config = WithScales(o.base, f, lo, hi);
  ASSIGN_OR_RETURN(ChipSamplerOptions options,
                   BuildChipSamplerOptions(c.config, "candidate"));
  const ChipStats st =
      ComputeChipStats(ds, ChipSampler(options), baseline, nullptr, 0);
  c.pixels_per_image = st.per_image(st.positive_pixels);
  c.chips_per_image = st.per_image(st.positive_chips);
  c.ratio_vs_single_scale = st.ratio_vs_single_scale();
  return c;
}

// Every decreasing tuple of `grid` entries after index `from`, of `left`
// more factors, appended to `prefix`.
template <typename Visit>
void Tuples(const std::vector<double>& grid, size_t from, int left,
            std::vector<double>& prefix, Visit& visit) {
  if (left == 0) {
    visit(prefix);
    return;
  }
  for (size_t j = from; j < grid.size(); ++j) {
    prefix.push_back(grid[j]);
    Tuples(grid, j + 1, left - 1, prefix, visit);
    prefix.pop_back();
  }
}

}  // namespace

absl::StatusOr<ScaleSuggestion> SuggestScales(const CocoDataset& dataset,
                                              const ScaleSuggestionOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o));
  ScaleSuggestion out;
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    const auto boxes = dataset.boxes_of(i);
    const auto crowd = dataset.crowd_of(i);
    for (size_t k = 0; k < boxes.size(); ++k) {
      if (!crowd[k]) {
        out.box_sides.push_back(std::sqrt(double{boxes[k].w} * boxes[k].h));
      }
    }
  }
  if (out.box_sides.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dataset.source(), ": no boxes to choose scales for"));
  }
  std::vector<double> sides = out.box_sides;
  std::sort(sides.begin(), sides.end());
  const std::vector<double> grid = FactorGrid(o);
  if (grid.empty()) {
    return absl::InvalidArgumentError(
        "ScaleSuggestionOptions: no grid factor in [min_factor, max_factor]");
  }
  // Boxes below the quantile, or too small for the anchors at the largest
  // factor, need not be anchored.
  out.small_side =
      std::max(sides[static_cast<size_t>(std::floor(
                   o.small_quantile * static_cast<double>(sides.size() - 1)))],
               o.anchor_min / grid.front());
  const size_t first_small =
      static_cast<size_t>(std::lower_bound(sides.begin(), sides.end(),
                                           out.small_side * (1 - 1e-9)) -
                          sides.begin());

  // The finest factor: the smallest grid factor that brings the small side
  // up to the anchors (the largest one if none does).
  size_t fine = 0;
  for (size_t j = 0; j < grid.size(); ++j) {
    if (grid[j] * out.small_side >= o.anchor_min * (1 - 1e-9)) fine = j;
  }
  ASSIGN_OR_RETURN(ChipSamplerOptions baseline_options,
                   BuildChipSamplerOptions(o.baseline, "baseline"));
  const ChipSampler baseline(baseline_options);
  absl::Status error;
  std::vector<double> prefix = {grid[fine]};
  auto visit = [&](const std::vector<double>& f) {
    ++out.candidates;
    std::vector<double> lo, hi;
    if (!error.ok() || !Ranges(f, o, &lo, &hi)) return;
    if (Anchored(sides, first_small, f, lo, hi, o) < 1) return;
    absl::StatusOr<ScaleChoice> c = Measure(dataset, f, lo, hi, baseline, o);
    if (!c.ok()) {
      error = c.status();
      return;
    }
    c->anchored_fraction_above_small = 1;
    c->anchored_fraction = Anchored(sides, 0, f, lo, hi, o);
    out.feasible.push_back(*std::move(c));
  };
  for (int k = 1; k <= o.max_scales; ++k) {
    Tuples(grid, fine + 1, k - 1, prefix, visit);
  }
  RETURN_IF_ERROR(error);
  if (out.feasible.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: no %d or fewer scales with factors in [%g, %g] put every box "
        "side from %.1f to %.1f px (the %g quantile up) inside the anchors' "
        "%g-%g px; raise max_scales or widen the factors",
        dataset.source(), o.max_scales, o.min_factor, o.max_factor,
        out.small_side, sides.back(), o.small_quantile, o.anchor_min,
        o.anchor_max));
  }
  std::stable_sort(out.feasible.begin(), out.feasible.end(),
                   [](const ScaleChoice& a, const ScaleChoice& b) {
                     if (a.pixels_per_image != b.pixels_per_image) {
                       return a.pixels_per_image < b.pixels_per_image;
                     }
                     return a.factors.size() < b.factors.size();
                   });
  out.best = out.feasible.front();
  return out;
}

absl::StatusOr<ScaleChoice> MeasureScales(const CocoDataset& dataset,
                                          const ChipSamplerConfig& config,
                                          const ScaleSuggestionOptions& o,
                                          double small_side) {
  ASSIGN_OR_RETURN(ChipSamplerOptions options,
                   BuildChipSamplerOptions(config, "measured"));
  ASSIGN_OR_RETURN(ChipSamplerOptions baseline_options,
                   BuildChipSamplerOptions(o.baseline, "baseline"));
  ScaleChoice c;
  c.config = config;
  for (const ScaleSpec& s : options.scales) {
    c.valid_min.push_back(s.valid_min);
    c.valid_max.push_back(s.valid_max);
  }
  int64_t all = 0, anchored = 0, above = 0, anchored_above = 0;
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    const CocoImage& im = dataset.image(i);
    const auto boxes = dataset.boxes_of(i);
    const auto crowd = dataset.crowd_of(i);
    for (size_t k = 0; k < boxes.size(); ++k) {
      if (crowd[k]) continue;
      const double side = std::sqrt(double{boxes[k].w} * boxes[k].h);
      bool ok = false;
      for (const ScaleSpec& s : options.scales) {
        const double scaled = side * ComputeScale(s, im.width, im.height);
        ok |= side >= s.valid_min && side < s.valid_max &&
              scaled >= o.anchor_min * (1 - 1e-9) &&
              scaled <= o.anchor_max * (1 + 1e-9);
      }
      ++all;
      anchored += ok;
      if (side >= small_side) {
        ++above;
        anchored_above += ok;
      }
    }
  }
  c.anchored_fraction = all ? static_cast<double>(anchored) / all : 1;
  c.anchored_fraction_above_small =
      above ? static_cast<double>(anchored_above) / above : 1;
  const ChipStats st = ComputeChipStats(
      dataset, ChipSampler(options), ChipSampler(baseline_options), nullptr, 0);
  c.pixels_per_image = st.per_image(st.positive_pixels);
  c.chips_per_image = st.per_image(st.positive_chips);
  c.ratio_vs_single_scale = st.ratio_vs_single_scale();
  return c;
}

std::string ScalesConfigText(const ScaleChoice& choice) {
  std::string text;
  for (size_t k = 0; k < choice.factors.size(); ++k) {
    const std::string max = std::isinf(choice.valid_max[k])
                                ? "inf"
                                : absl::StrFormat("%.6g", choice.valid_max[k]);
    absl::StrAppendFormat(&text,
                          "scales {\n  size { factor: %.6g }\n  valid_range "
                          "{ min: %.6g max: %s }\n}\n",
                          choice.factors[k], choice.valid_min[k], max);
  }
  return text;
}

}  // namespace sniper::data
