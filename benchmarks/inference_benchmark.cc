// Multi-scale inference throughput against single-scale inference on the
// same model, one run (sniper/inference.h):
//   BM_Inference/sniper:       the default's three test scales (long side
//                              1536, 768, 256) with their valid ranges;
//   BM_Inference/single_scale: one scale, long side 768
//                              (configs/synthetic_single_scale.pbtxt);
//   BM_Inference/autofocus_ground_truth: the three scales coarse to fine
//                              (AutoFocus) with focus maps from the ground
//                              truth (eval.autofocus.ground_truth_focus:
//                              what a perfect focus branch saves; a fresh
//                              model's own map means nothing), FocusChips
//                              batched 4 at a time;
// over the first 20 validation images of the default's synthetic set, with
// a freshly initialized ResNet-18 x0.25 detector (the work per image does
// not depend on the weights: 300 proposals per view); and
//   BM_InferenceCoco/*:        the paper's setting on real COCO images
//                              (../shared/data/coco_mini; skipped without
//                              it): ResNet-50 with dilated res5, the test
//                              scales (1400, 2000), (800, 1280), (480, 512)
//                              with their valid ranges and soft-NMS, vs one
//                              800x1333 scale, 3 images.
// Decode + resample + network + merging per image, 2 threads. Counters:
// images_per_s, network pixels per image, peak resident memory (VmHWM,
// reset per case).
//
//   bazel run //benchmarks:inference_benchmark
#include <torch/torch.h>

#include <string>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_common.h"
#include "configs/synthetic_single_scale_embedded.h"
#include "data/coco_dataset.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "models/faster_rcnn.h"
#include "sniper/config.h"
#include "sniper/inference.h"

namespace sniper {
namespace {

// Prepare + Run over the first `n` images of `ds`, with the counters.
void RunImages(benchmark::State& state, const Pipeline& p,
               const data::CocoDataset& ds, const std::string& dir, int n) {
  at::set_num_threads(2);
  torch::manual_seed(0);
  MultiScaleDetector detector(models::FasterRcnn(p.model), p.eval,
                              p.loader.render, torch::Device(torch::kCPU),
                              std::nullopt);
  CHECK(detector.Prepare(ds, dir, 0).ok());  // the decoder's warm-up
  bench::ResetPeakRss();
  int64_t images = 0;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<PreparedImage> views = detector.Prepare(ds, dir, i);
      CHECK(views.ok()) << views.status();
      benchmark::DoNotOptimize(detector.Run(*views));
      ++images;
    }
  }
  state.counters["images_per_s"] =
      benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] =
      static_cast<double>(detector.pixels_run()) / images;
  state.counters["views_per_image"] =
      static_cast<double>(detector.views_run()) / images;
  state.counters["scales"] = static_cast<double>(p.eval.scales.scales.size());
  state.counters["peak_rss_mib"] = bench::PeakRssMib();
}

void BM_Inference(benchmark::State& state, const char* layer) {
  const Pipeline p = bench::DefaultPipeline(layer);
  const std::string cache = p.config.dataset().synthetic().cache_dir();
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(cache + "/instances_val.json", {});
  CHECK(ds.ok()) << ds.status();
  // SNIPER_BENCH_IMAGES: fewer for the CI gate.
  RunImages(state, p, *ds, cache + "/images",
            bench::EnvInt("SNIPER_BENCH_IMAGES", 20));
}

void BM_InferenceCoco(benchmark::State& state, const char* config) {
  const std::string annotations =
      testing::SharedDataPath("coco_mini/instances.json");
  if (annotations.empty()) {
    state.SkipWithError(testing::kNoSharedData);
    return;
  }
  const Pipeline p = bench::DefaultPipeline("init_backbone: \"\"", config);
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(annotations, {});
  CHECK(ds.ok()) << ds.status();
  RunImages(state, p, *ds, testing::SharedDataPath("coco_mini/images"), 3);
}

BENCHMARK_CAPTURE(BM_Inference, sniper, "")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, autofocus_ground_truth,
                  "eval { batch_size: 4 autofocus { enabled: true "
                  "ground_truth_focus: true } }")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, single_scale, embedded::kSyntheticSingleScale)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_InferenceCoco, sniper_r50, "configs/coco_sniper_r50.pbtxt")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_InferenceCoco, single_scale_r50,
                  "configs/coco_single_scale_r50.pbtxt")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace sniper

BENCHMARK_MAIN();
