// Loader throughput over real COCO JPEGs (BM_Loader_*: coco_mini; skipped
// without ../shared/data) and over the synthetic set (BM_SynLoader_*: 60
// images generated at start-up), three loaders in one binary so their
// ratios come from one run, each with 2 threads:
//   BM_Loader_Sniper:      ChipLoader (region/DCT-scaled decode,
//                          crop-then-resize) over one epoch of positive chips
//                          at the COCO SNIPER settings;
//   BM_Loader_SniperGrouped: the same with group_by_image epochs (each
//                          image decoded once for all its chips);
//   BM_Loader_SingleScale: the 800x1333 baseline: full decode, whole image
//                          resized into a W'xH' canvas;
//   BM_Loader_NaiveChips:  the same chips the naive way: full decode, the
//                          whole image resized at the chip's scale, then
//                          the chip cropped out.
// items_per_second = images/s; counters: chips/s, file and decoded bytes,
// peak RSS of the process so far (KiB). Canvases are HWC uint8 (the GPU
// normalizes), identical for all three.
//
//   bazel run //data:chip_loader_benchmark
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_paper_sampler_embedded.h"
#include "data/chip_loader.h"
#include "data/chip_sampler_builder.h"
#include "data/synthetic.h"
#include "data/testing/shared_data.h"
#include "data/testing/text_sampler.h"
#include "glog/logging.h"
#include "port/proto_io.h"

namespace sniper::data {
namespace {

constexpr int kThreads = 2;

struct Data {
  CocoDataset dataset;
  std::string images;
};

// The synthetic set (data/synthetic.h), generated once into a temporary
// directory: 60 training images of 480-1600 px.
const Data* Synthetic() {
  static const Data* data = []() -> const Data* {
    char tmpl[] = "/tmp/sniper_syn_bench_XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    CHECK(dir != nullptr);
    SyntheticOptions o;
    o.train_images = 60;
    o.val_images = 0;
    SyntheticSplitStats train, val;
    CHECK(WriteSyntheticDataset(dir, o, &train, &val).ok());
    auto ds = ReadCocoInstances(std::string(dir) + "/instances_train.json", {});
    CHECK(ds.ok()) << ds.status();
    return new Data{std::move(*ds), std::string(dir) + "/images"};
  }();
  return data;
}

const Data* CocoMini() {
  static const Data* data = []() -> const Data* {
    const std::string path =
        sniper::testing::SharedDataPath("coco_mini/instances.json");
    if (path.empty()) return nullptr;
    auto ds = ReadCocoInstances(path, {});
    CHECK(ds.ok()) << ds.status();
    return new Data{std::move(*ds),
                    sniper::testing::SharedDataPath("coco_mini/images")};
  }();
  return data;
}

ChipSampler Sampler(const char* text) {
  return sniper::testing::SamplerFromText(text);
}

double PeakRssKiB() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss);
}

// Runs fn(i) for i in [0, n) on kThreads threads.
template <typename Fn>
void ParallelFor(int64_t n, Fn fn) {
  std::atomic<int64_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int64_t i; (i = next++) < n;) fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

void RunSniper(benchmark::State& state, const Data* d, bool group_by_image) {
  if (d == nullptr) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  auto opts =
      ParseChipSamplerOptions(embedded::kCocoSniperPaperSampler, "embedded");
  CHECK(opts.ok());
  opts->group_by_image = group_by_image;
  const ChipSampler sampler(*opts);
  ChipLoaderOptions o;
  o.threads = kThreads;
  o.batch_size = 8;
  o.queue_depth = 4;
  o.render.layout = ChipLayout::kHwcUint8;
  ChipLoader loader(d->dataset, d->images, sampler, nullptr, o);
  int64_t chips = 0, bytes = 0, decoded = 0;
  uint64_t epoch = 0;
  for (auto _ : state) {
    loader.StartEpoch(epoch++);
    while (true) {
      auto b = loader.Next();
      CHECK(b.ok()) << b.status();
      if (!b->has_value()) break;
      chips += (*b)->size;
      bytes += (*b)->stats.file_bytes;
      decoded += (*b)->stats.decoded_pixels;
    }
  }
  const double images =
      static_cast<double>(state.iterations()) * d->dataset.num_images();
  state.SetItemsProcessed(static_cast<int64_t>(images));
  state.counters["chips_per_second"] = benchmark::Counter(
      static_cast<double>(chips), benchmark::Counter::kIsRate);
  state.counters["file_bytes_per_image"] = bytes / images;
  state.counters["decoded_pixels_per_image"] = decoded / images;
  state.counters["peak_rss_kib"] = PeakRssKiB();
}

// Full decode of an image and resize of the whole image to `at`, into a
// W'xH' HWC canvas (how the single-scale baseline and the naive chip loader
// get their pixels). Adds the file's bytes and decoded pixels to the totals.
std::vector<uint8_t> DecodeAndResizeWhole(const Data& d, const CocoImage& im,
                                          const ImageAtScale& at,
                                          std::atomic<int64_t>* bytes,
                                          std::atomic<int64_t>* decoded) {
  std::string file;
  CHECK(ReadFileToString(d.images + "/" + im.file_name, &file).ok());
  DecodeRequest full;
  full.reduce = false;
  auto region = DecodeImageRegion(file, im.file_name, full);
  CHECK(region.ok()) << region.status();
  ChipRenderOptions o;
  o.layout = ChipLayout::kHwcUint8;
  o.canvas_width = at.scaled_width;
  o.canvas_height = at.scaled_height;
  std::vector<uint8_t> canvas(ChipCanvasBytes(o));
  RenderChip(*region, {0, 0, at.scaled_width, at.scaled_height}, at.scale,
             false, o, canvas.data());
  *bytes += static_cast<int64_t>(file.size());
  *decoded += region->decoded_pixels;
  return canvas;
}

void BM_Loader_Sniper(benchmark::State& state) {
  RunSniper(state, CocoMini(), false);
}
void BM_Loader_SniperGrouped(benchmark::State& state) {
  RunSniper(state, CocoMini(), true);
}
void BM_SynLoader_Sniper(benchmark::State& state) {
  RunSniper(state, Synthetic(), false);
}
void BM_SynLoader_SniperGrouped(benchmark::State& state) {
  RunSniper(state, Synthetic(), true);
}

void RunSingleScale(benchmark::State& state, const Data* d) {
  if (d == nullptr) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  const ChipSampler baseline = Sampler(embedded::kCocoSingleScaleSampler);
  const int64_t n = static_cast<int64_t>(d->dataset.num_images());
  std::atomic<int64_t> bytes{0}, decoded{0};
  for (auto _ : state) {
    ParallelFor(n, [&](int64_t i) {
      const CocoImage& im = d->dataset.image(i);
      const ImageAtScale at =
          MakeImageAtScale(baseline.options(), 0, im.width, im.height, 32);
      const std::vector<uint8_t> canvas =
          DecodeAndResizeWhole(*d, im, at, &bytes, &decoded);
      benchmark::DoNotOptimize(canvas.data());
    });
  }
  const double images = static_cast<double>(state.iterations()) * n;
  state.SetItemsProcessed(static_cast<int64_t>(images));
  state.counters["file_bytes_per_image"] = bytes / images;
  state.counters["decoded_pixels_per_image"] = decoded / images;
  state.counters["peak_rss_kib"] = PeakRssKiB();
}

void BM_Loader_SingleScale(benchmark::State& state) {
  RunSingleScale(state, CocoMini());
}
void BM_SynLoader_SingleScale(benchmark::State& state) {
  RunSingleScale(state, Synthetic());
}

void RunNaiveChips(benchmark::State& state, const Data* d) {
  if (d == nullptr) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  const ChipSampler sampler = Sampler(embedded::kCocoSniperPaperSampler);
  int64_t chips = 0;
  uint64_t epoch = 0;
  std::atomic<int64_t> bytes{0}, decoded{0};
  for (auto _ : state) {
    const std::vector<ChipRecord> records =
        sampler.Epoch(d->dataset, nullptr, epoch++);
    ParallelFor(static_cast<int64_t>(records.size()), [&](int64_t k) {
      const ChipRecord& r = records[k];
      const CocoImage& im = d->dataset.image(r.image_index);
      const ImageAtScale at = MakeImageAtScale(sampler.options(), r.scale_index,
                                               im.width, im.height, 32);
      // The whole image at the chip's scale, then the crop.
      const std::vector<uint8_t> scaled =
          DecodeAndResizeWhole(*d, im, at, &bytes, &decoded);
      std::vector<uint8_t> chip(512 * 512 * 3, 0);
      const int32_t cw = r.chip.x2 - r.chip.x1, ch = r.chip.y2 - r.chip.y1;
      for (int32_t y = 0; y < ch; ++y) {
        std::memcpy(chip.data() + static_cast<size_t>(y) * 512 * 3,
                    scaled.data() +
                        (static_cast<size_t>(r.chip.y1 + y) * at.scaled_width +
                         r.chip.x1) *
                            3,
                    static_cast<size_t>(cw) * 3);
      }
      benchmark::DoNotOptimize(chip.data());
    });
    chips += static_cast<int64_t>(records.size());
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(d->dataset.num_images()));
  state.counters["chips_per_second"] = benchmark::Counter(
      static_cast<double>(chips), benchmark::Counter::kIsRate);
  state.counters["peak_rss_kib"] = PeakRssKiB();
}

void BM_Loader_NaiveChips(benchmark::State& state) {
  RunNaiveChips(state, CocoMini());
}
void BM_SynLoader_NaiveChips(benchmark::State& state) {
  RunNaiveChips(state, Synthetic());
}

BENCHMARK(BM_Loader_SingleScale)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Loader_Sniper)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Loader_SniperGrouped)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Loader_NaiveChips)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SynLoader_SingleScale)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SynLoader_Sniper)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SynLoader_SniperGrouped)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SynLoader_NaiveChips)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sniper::data

BENCHMARK_MAIN();
