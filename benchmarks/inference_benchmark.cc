// Multi-scale inference throughput against single-scale inference on the
// same model, one run (sniper/inference.h):
//   BM_Inference/sniper:       the default's three test scales (long side
//                              1536, 768, 256) with their valid ranges;
//   BM_Inference/single_scale: one scale, long side 768
//                              (configs/synthetic_single_scale.pbtxt).
// Over the first 20 validation images of the default's synthetic set,
// decode + resample + network + merging per image, 2 threads, a freshly
// initialized ResNet-18 x0.25 detector (the work per image does not depend
// on the weights: 300 proposals per view); and BM_InferenceCoco below.
// Counters: images_per_s,
// network pixels per image, peak resident memory (VmHWM, reset per case).
//
//   bazel run //benchmarks:inference_benchmark
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "benchmark/benchmark.h"
#include "configs/default_synthetic_embedded.h"
#include "configs/synthetic_single_scale_embedded.h"
#include "data/coco_dataset.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "models/faster_rcnn.h"
#include "port/proto_io.h"
#include "sniper/config.h"
#include "sniper/inference.h"

namespace sniper {
namespace {

constexpr int kImages = 20;

void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return -1;
}

void BM_Inference(benchmark::State& state, const char* layer) {
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", "", {});
  CHECK(merged.ok()) << merged.status();
  PipelineConfig upper;
  CHECK(ParseTextProto(layer, "layer", &upper).ok());
  MergeReplacingLists(upper, &*merged);
  absl::StatusOr<Pipeline> p = BuildPipeline(*merged);
  CHECK(p.ok()) << p.status();
  const SyntheticDataConfig& s = p->config.dataset().synthetic();
  if (!SyntheticDatasetExists(s)) {
    const absl::Status written = WriteSyntheticDataset(s);
    CHECK(written.ok()) << written;
  }
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(s.cache_dir() + "/instances_val.json", {});
  CHECK(ds.ok()) << ds.status();
  const std::string dir = s.cache_dir() + "/images";

  at::set_num_threads(2);
  torch::manual_seed(0);
  MultiScaleDetector detector(models::FasterRcnn(p->model), p->eval,
                              p->loader.render, torch::Device(torch::kCPU),
                              std::nullopt);
  // Warm-up: one image.
  CHECK(detector.Prepare(*ds, dir, 0).ok());
  ResetPeakRss();
  int64_t images = 0;
  const int64_t pixels_before = detector.pixels_run();
  for (auto _ : state) {
    for (int i = 0; i < kImages; ++i) {
      absl::StatusOr<PreparedImage> views = detector.Prepare(*ds, dir, i);
      CHECK(views.ok()) << views.status();
      benchmark::DoNotOptimize(detector.Run(*views));
      ++images;
    }
  }
  state.counters["images_per_s"] =
      benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] =
      static_cast<double>(detector.pixels_run() - pixels_before) / images;
  state.counters["scales"] = static_cast<double>(p->eval.scales.scales.size());
  state.counters["peak_rss_mib"] = PeakRssMib();
}

// The paper's setting on real COCO images (../shared/data/coco_mini; skipped
// without it): ResNet-50 (dilated res5), the three test scales (1400, 2000),
// (800, 1280), (480, 512) with their valid ranges and soft-NMS
// (configs/coco_sniper_r50.pbtxt) vs one 800x1333 scale
// (configs/coco_single_scale_r50.pbtxt), freshly initialized, 3 images.
void BM_InferenceCoco(benchmark::State& state, const char* config) {
  const std::string annotations =
      testing::SharedDataPath("coco_mini/instances.json");
  if (annotations.empty()) {
    state.SkipWithError(testing::kNoSharedData);
    return;
  }
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", config, {});
  CHECK(merged.ok()) << merged.status();
  merged->set_init_backbone("");
  absl::StatusOr<Pipeline> p = BuildPipeline(*merged);
  CHECK(p.ok()) << p.status();
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(annotations, {});
  CHECK(ds.ok()) << ds.status();
  const std::string dir = testing::SharedDataPath("coco_mini/images");
  at::set_num_threads(2);
  torch::manual_seed(0);
  MultiScaleDetector detector(models::FasterRcnn(p->model), p->eval,
                              p->loader.render, torch::Device(torch::kCPU),
                              std::nullopt);
  ResetPeakRss();
  int64_t images = 0;
  for (auto _ : state) {
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<PreparedImage> views = detector.Prepare(*ds, dir, i);
      CHECK(views.ok()) << views.status();
      benchmark::DoNotOptimize(detector.Run(*views));
      ++images;
    }
  }
  state.counters["images_per_s"] =
      benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] =
      static_cast<double>(detector.pixels_run()) / images;
  state.counters["peak_rss_mib"] = PeakRssMib();
}

BENCHMARK_CAPTURE(BM_InferenceCoco, sniper_r50, "configs/coco_sniper_r50.pbtxt")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_InferenceCoco, single_scale_r50,
                  "configs/coco_single_scale_r50.pbtxt")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_CAPTURE(BM_Inference, sniper, "")
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, single_scale, embedded::kSyntheticSingleScale)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace sniper

BENCHMARK_MAIN();
