// Chip generation throughput (single thread) and exact pixel accounting.
//
//   bazel run -c opt //data:chips_benchmark
//
// BM_ChipGen_<Data>: positive chips for every image at the paper's COCO
//   SNIPER settings (3 scales, greedy cover, 512x512 canvases:
//   configs/coco_sniper_paper_sampler.pbtxt), images/s as items_per_second.
//   Counters are exact (chips, canvas pixels per image), gated by the perf
//   gate.
// BM_ChipGen_<Data>_Optimized: the same with our default
//   (configs/coco_sniper_sampler.pbtxt: exact cover + local search, tight
//   canvases; issue #22).
// BM_ChipGen_<Data>_Naive: the same chips from the naive greedy cover (the
//   test oracle); the gate checks our speed-up over it, measured in one run.
// BM_ChipStats_CocoMini: the full accounting (epoch + coverage + baseline)
//   as chip_stats runs it (the paper's sampler), with exact counters.
// <Data>: CocoMini (real boxes, ../shared/data; skipped if absent) or
//   Synthetic (2,000 random images, always available).
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_paper_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler.h"
#include "data/chip_sampler_builder.h"
#include "data/chip_stats.h"
#include "data/coco_dataset.h"
#include "data/testing/naive_chips.h"
#include "data/testing/random_dataset.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"

namespace sniper::data {
namespace {

ChipSamplerOptions Options(const char* text) {
  auto o = ParseChipSamplerOptions(text, "embedded");
  CHECK(o.ok()) << o.status();
  return *o;
}

const CocoDataset* CocoMini() {
  static const CocoDataset* ds = []() -> const CocoDataset* {
    const std::string path =
        sniper::testing::SharedDataPath("coco_mini/instances.json");
    if (path.empty()) return nullptr;
    auto d = ReadCocoInstances(path, {});
    CHECK(d.ok()) << d.status();
    return new CocoDataset(std::move(*d));
  }();
  return ds;
}

const CocoDataset* Synthetic() {
  static const CocoDataset* ds =
      new CocoDataset(sniper::testing::MakeRandomDataset(2000, 42, 20));
  return ds;
}

// Positive chips of every image and scale with the fast or the naive cover.
void RunChipGen(benchmark::State& state, const CocoDataset* ds, bool naive,
                const char* config = embedded::kCocoSniperPaperSampler) {
  if (ds == nullptr) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  const ChipSampler sampler(Options(config));
  const ChipSamplerOptions& o = sampler.options();
  CoverScratch cover;
  ImageChips chips;
  int64_t num_chips = 0, pixels = 0;
  for (auto _ : state) {
    num_chips = 0;
    pixels = 0;
    for (size_t i = 0; i < ds->num_images(); ++i) {
      if (!naive) {
        sampler.GenerateImageChips(*ds, i, nullptr, 0, &cover, &chips);
        for (const auto& ps : chips.scales) {
          num_chips += ps.positives.size();
          for (const Chip& c : ps.positives) pixels += CanvasPixels(o, c);
        }
        benchmark::DoNotOptimize(chips.scales.data());
        continue;
      }
      // Same valid boxes and tie seeds as the sampler, naive cover.
      const CocoImage& img = ds->image(i);
      SplitMix64 rng = sampler.ImageRng(0, i);
      for (int s = 0; s < sampler.num_scales(); ++s) {
        const ImageAtScale at =
            MakeImageAtScale(o, s, img.width, img.height, o.stride);
        std::vector<Box> valid;
        const auto boxes = ds->boxes_of(i);
        for (size_t k = 0; k < boxes.size(); ++k) {
          const Box b = ToCorners(boxes[k]);
          if (!ds->crowd_of(i)[k] && IsValidAtScale(o, s, at, b)) {
            valid.push_back(ScaleAndClip(b, at));
          }
        }
        const uint64_t tie_seed = rng.Next();
        rng.Next();
        const auto c = sniper::testing::NaiveGreedyCover(at, o.chip_size, valid,
                                                         tie_seed, 0);
        num_chips += c.size();
        for (const Chip& chip : c) pixels += CanvasPixels(o, chip);
        benchmark::DoNotOptimize(c.data());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * ds->num_images());
  state.counters["positive_chips"] = static_cast<double>(num_chips);
  state.counters["sniper_pixels_per_image"] =
      static_cast<double>(pixels) / ds->num_images();
}

void BM_ChipGen_CocoMini(benchmark::State& state) {
  RunChipGen(state, CocoMini(), false);
}
void BM_ChipGen_CocoMini_Naive(benchmark::State& state) {
  RunChipGen(state, CocoMini(), true);
}
void BM_ChipGen_Synthetic(benchmark::State& state) {
  RunChipGen(state, Synthetic(), false);
}
void BM_ChipGen_Synthetic_Naive(benchmark::State& state) {
  RunChipGen(state, Synthetic(), true);
}
void BM_ChipGen_CocoMini_Optimized(benchmark::State& state) {
  RunChipGen(state, CocoMini(), false, embedded::kCocoSniperSampler);
}
void BM_ChipGen_Synthetic_Optimized(benchmark::State& state) {
  RunChipGen(state, Synthetic(), false, embedded::kCocoSniperSampler);
}
BENCHMARK(BM_ChipGen_CocoMini)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChipGen_CocoMini_Optimized)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChipGen_CocoMini_Naive)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChipGen_Synthetic)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChipGen_Synthetic_Optimized)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChipGen_Synthetic_Naive)->Unit(benchmark::kMillisecond);

// The whole accounting, as //tools:chip_stats computes it.
void BM_ChipStats_CocoMini(benchmark::State& state) {
  const CocoDataset* ds = CocoMini();
  if (ds == nullptr) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  const ChipSampler sniper(Options(embedded::kCocoSniperPaperSampler));
  const ChipSampler baseline(Options(embedded::kCocoSingleScaleSampler));
  ChipStats stats;
  for (auto _ : state) {
    stats = ComputeChipStats(*ds, sniper, baseline, nullptr, 0);
    benchmark::DoNotOptimize(stats.positive_chips);
  }
  state.SetItemsProcessed(state.iterations() * ds->num_images());
  state.counters["images"] = static_cast<double>(stats.images);
  state.counters["positive_chips"] = static_cast<double>(stats.positive_chips);
  state.counters["valid_boxes"] = static_cast<double>(stats.valid_boxes());
  state.counters["sniper_pixels"] = static_cast<double>(stats.sniper_pixels());
  state.counters["single_scale_pixels"] =
      static_cast<double>(stats.single_scale_pixels);
  state.counters["pyramid_pixels"] = static_cast<double>(stats.pyramid_pixels);
  state.counters["covered_fraction"] = stats.covered_fraction();
}
BENCHMARK(BM_ChipStats_CocoMini)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sniper::data

BENCHMARK_MAIN();
