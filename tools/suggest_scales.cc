// suggest_scales: training scales, valid ranges and their cost chosen from
// a dataset's box sizes (data/scale_suggestion.h).
//
//   bazel run //tools:suggest_scales -- --annotations=instances.json
//       (or --voc_root=..., or --yolo_images=... --yolo_names=...)
//       [--config=sampler.pbtxt] [--anchor_min=32 --anchor_max=384]
//       [--max_scales=3] [--overlap=1.25] [--picture=scales.png]
//
// Prints the box sides' spread, the cheapest scales that put every box
// (above the 1% smallest) inside the anchors' range at a scale where it is
// valid, their chip pixels per image against single scale (the chip
// sampler's own count, on this dataset), the runners-up, and the
// `scales { }` lines to paste into a config's sampler (and eval) section.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/image_io.h"
#include "data/scale_suggestion.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "tools/dataset_flags.h"
#include "tools/tool_common.h"
#include "viz/draw.h"
#include "viz/histogram.h"

ABSL_FLAG(std::string, config, "",
          "ChipSamplerConfig whose chip size, cover and canvas the scales go "
          "into; default: the embedded configs/coco_sniper_sampler.pbtxt.");
ABSL_FLAG(std::string, baseline_config, "",
          "The single-scale baseline's ChipSamplerConfig; default: the "
          "embedded configs/coco_single_scale_sampler.pbtxt (800x1333).");
ABSL_FLAG(double, anchor_min, 32,
          "Smallest box side the anchors match (stride 16 x scale 2).");
ABSL_FLAG(double, anchor_max, 384,
          "Largest box side the anchors match (stride 16 x scale 24).");
ABSL_FLAG(double, overlap, 1.25, "Adjacent valid ranges overlap by this.");
ABSL_FLAG(int32_t, max_scales, 3, "At most this many scales.");
ABSL_FLAG(double, small_quantile, 0.01,
          "Boxes below this quantile of the sides do not set the finest "
          "scale.");
ABSL_FLAG(double, max_factor, 3,
          "Largest scale factor considered (the finest scale's cost limit).");
ABSL_FLAG(std::string, picture, "",
          "Also draw the box-side histogram with each scale's range here.");

namespace {

absl::Status LoadSampler(const std::string& flag, const char* embedded,
                         sniper::data::ChipSamplerConfig* out) {
  if (flag.empty()) return sniper::ParseTextProto(embedded, "embedded", out);
  return sniper::ReadTextProtoFile(sniper::ResolveUserPath(flag), out);
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::floor(q * (v.size() - 1)))];
}

std::string Describe(const sniper::data::ScaleChoice& c) {
  std::vector<std::string> parts;
  for (size_t k = 0; k < c.factors.size(); ++k) {
    parts.push_back(absl::StrFormat(
        "x%.3g [%.0f, %s)", c.factors[k], c.valid_min[k],
        std::isinf(c.valid_max[k]) ? "inf"
                                   : absl::StrFormat("%.0f", c.valid_max[k])));
  }
  return absl::StrJoin(parts, "  ");
}

absl::Status Draw(const sniper::data::ScaleSuggestion& s,
                  const std::string& title, const std::string& path) {
  std::vector<sniper::viz::RangeBand> bands;
  const auto& c = s.best;
  for (size_t k = 0; k < c.factors.size(); ++k) {
    bands.push_back({absl::StrFormat("scale %d (x%.3g)", k, c.factors[k]),
                     sniper::viz::PaletteColor(static_cast<int>(k)),
                     c.valid_min[k], c.valid_max[k]});
  }
  return sniper::data::WritePngFile(
      path, sniper::viz::PlotLogHistogram(
                title, "box side sqrt(w * h), original pixels", s.box_sides, 12,
                bands, 960, 460));
}

// The search's options from the flags, the samplers read.
absl::StatusOr<sniper::data::ScaleSuggestionOptions> OptionsFromFlags() {
  sniper::data::ScaleSuggestionOptions o;
  RETURN_IF_ERROR(LoadSampler(absl::GetFlag(FLAGS_config),
                              sniper::embedded::kCocoSniperSampler, &o.base));
  RETURN_IF_ERROR(LoadSampler(absl::GetFlag(FLAGS_baseline_config),
                              sniper::embedded::kCocoSingleScaleSampler,
                              &o.baseline));
  o.anchor_min = absl::GetFlag(FLAGS_anchor_min);
  o.anchor_max = absl::GetFlag(FLAGS_anchor_max);
  o.overlap = absl::GetFlag(FLAGS_overlap);
  o.max_scales = absl::GetFlag(FLAGS_max_scales);
  o.small_quantile = absl::GetFlag(FLAGS_small_quantile);
  o.max_factor = absl::GetFlag(FLAGS_max_factor);
  return o;
}

int Run() {
  if (absl::Status usage = sniper::tools::CheckDatasetFlags(); !usage.ok()) {
    std::cerr << "suggest_scales: " << usage.message() << "\n";
    return 2;
  }
  auto loaded = sniper::tools::DatasetFromFlags({});
  if (!loaded.ok()) {
    std::cerr << "suggest_scales: " << loaded.status().message() << "\n";
    return 1;
  }
  auto options = OptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "suggest_scales: " << options.status().message() << "\n";
    return 1;
  }
  const sniper::data::ScaleSuggestionOptions& o = *options;
  auto s = sniper::data::SuggestScales(loaded->dataset, o);
  if (!s.ok()) {
    std::cerr << "suggest_scales: " << s.status().message() << "\n";
    return 1;
  }
  const auto& best = s->best;
  std::printf(
      "dataset: %s (%zu images, %zu boxes)\n"
      "box sides sqrt(w*h): 1%% %.1f  median %.1f  99%% %.1f  max %.1f px; "
      "anchors match %.0f-%.0f px\n\n"
      "suggested: %zu scales  %s\n"
      "  boxes inside their scale's anchor range: %.2f%% of all, %.2f%% of "
      "those >= %.1f px\n"
      "  positive chips: %.2f per image, %.0f pixels per image = %.3fx single "
      "scale\n\n",
      loaded->description.c_str(), loaded->dataset.num_images(),
      s->box_sides.size(), Quantile(s->box_sides, 0.01),
      Quantile(s->box_sides, 0.5), Quantile(s->box_sides, 0.99),
      Quantile(s->box_sides, 1.0), o.anchor_min, o.anchor_max,
      best.factors.size(), Describe(best).c_str(), 100 * best.anchored_fraction,
      100 * best.anchored_fraction_above_small, s->small_side,
      best.chips_per_image, best.pixels_per_image, best.ratio_vs_single_scale);
  auto current =
      sniper::data::MeasureScales(loaded->dataset, o.base, o, s->small_side);
  if (!current.ok()) {
    std::cerr << "suggest_scales: " << current.status().message() << "\n";
    return 1;
  }
  std::printf(
      "the --config's own scales (%s): anchored %.2f%% of all, %.2f%% of "
      "those >= %.1f px; %.2f chips, %.0f pixels per image = %.3fx single "
      "scale\n\n",
      absl::GetFlag(FLAGS_config).empty() ? "configs/coco_sniper_sampler.pbtxt"
                                          : absl::GetFlag(FLAGS_config).c_str(),
      100 * current->anchored_fraction,
      100 * current->anchored_fraction_above_small, s->small_side,
      current->chips_per_image, current->pixels_per_image,
      current->ratio_vs_single_scale);
  std::printf("runners-up (of %zu feasible, %lld enumerated):\n",
              s->feasible.size(), static_cast<long long>(s->candidates));
  for (size_t i = 1; i < std::min<size_t>(s->feasible.size(), 6); ++i) {
    const auto& c = s->feasible[i];
    std::printf("  %.3fx single scale  %s\n", c.ratio_vs_single_scale,
                Describe(c).c_str());
  }
  std::printf("\nsampler { (and eval { ) scales to paste:\n%s",
              sniper::data::ScalesConfigText(best).c_str());
  const std::string picture =
      sniper::ResolveUserPath(absl::GetFlag(FLAGS_picture));
  if (!picture.empty()) {
    if (absl::Status st = Draw(*s, loaded->description, picture); !st.ok()) {
      std::cerr << "suggest_scales: " << st.message() << "\n";
      return 1;
    }
    std::printf("\nwrote %s\n", picture.c_str());
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv,
      absl::StrCat("suggest_scales <dataset> [--picture=scales.png] "
                   "[--max_scales=3]\n<dataset>:\n",
                   sniper::tools::kDatasetFlagsUsage)
          .c_str());
  return Run();
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
