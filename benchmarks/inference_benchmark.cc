// Multi-scale inference throughput against single-scale inference on the
// same model, one run (inference/detector.h), on --device in --precision
// (benchmarks/bench_device.h):
//   BM_Inference/sniper:       the default's three test scales (long side
//                              1536, 768, 256) with their valid ranges;
//   BM_Inference/sniper_batch4: the same, four images per RunBatch
//                              (eval.batch_size 4: views of a scale
//                              batched by shape);
//   BM_Inference/single_scale: one scale, long side 768
//                              (configs/synthetic_single_scale.pbtxt);
//   BM_Inference/autofocus_ground_truth: the three scales coarse to fine
//                              (AutoFocus) with focus maps from the ground
//                              truth (eval.autofocus.ground_truth_focus:
//                              what a perfect focus branch saves; a fresh
//                              model's own map means nothing), four images
//                              per RunBatch, FocusChips batched 4 at a
//                              time;
// over the first 20 validation images of the default's synthetic set, with
// a freshly initialized ResNet-18 x0.25 detector (the work per image does
// not depend on the weights: 300 proposals per view); and
//   BM_InferenceCoco/*:        the paper's setting on real COCO images
//                              (--data_dir, default ../shared/data/coco_mini;
//                              skipped without them), random weights:
//                              ResNet-50/101 with dilated res5, the test
//                              scales (1400, 2000), (800, 1280), (480, 512)
//                              with their valid ranges and soft-NMS, vs one
//                              800x1333 scale; autofocus_*: the same scales
//                              coarse to fine with ground-truth focus maps;
//                              *_mobilenetv2: the light backbone
//                              (configs/coco_sniper_mobilenetv2.pbtxt);
//                              --coco_images images (default 3).
// Decode + resample + network + merging per image, --threads threads.
// Counters: images_per_s, network pixels per image (the views' canvases;
// canvas_pixels_per_image adds the padding of views to their batch's
// size), minor page faults per image, peak resident memory (VmHWM, reset
// per case), on CUDA the caching allocator's peaks.
//
//   bazel run //benchmarks:inference_benchmark
//   bazel-bin/benchmarks/inference_benchmark --device=cuda --precision=BF16
//       --benchmark_filter=Coco --coco_images=20   (one line)
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_common.h"
#include "benchmarks/bench_device.h"
#include "configs/synthetic_single_scale_embedded.h"
#include "data/coco_dataset.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "inference/detector.h"
#include "models/faster_rcnn.h"
#include "port/large_block_allocator.h"
#include "sniper/config.h"

ABSL_FLAG(int, coco_images, 3, "images of the BM_InferenceCoco cases");
ABSL_FLAG(int, threads, 2, "compute threads (at::set_num_threads)");

namespace sniper {
namespace {

// Minor page faults of this process so far (the kernel faulting memory
// in: a count, not a time, so a loaded machine does not blur it).
int64_t MinorFaults() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Prepare + RunBatch of images [first, end) of `ds`; returns how many.
int64_t RunBatchOf(inference::MultiScaleDetector& detector,
                   const data::CocoDataset& ds, const std::string& dir,
                   int first, int end) {
  std::vector<inference::PreparedImage> views;
  for (int i = first; i < end; ++i) {
    absl::StatusOr<inference::PreparedImage> v =
        detector.Prepare(inference::ImageOf(ds, dir, i));
    CHECK(v.ok()) << v.status();
    views.push_back(*std::move(v));
  }
  std::vector<const inference::PreparedImage*> pointers;
  for (const inference::PreparedImage& v : views) pointers.push_back(&v);
  benchmark::DoNotOptimize(detector.RunBatch(pointers));
  return static_cast<int64_t>(views.size());
}

// Prepare + RunBatch over the first `n` images of `ds`, as many at a time
// as the detector asks (images_per_batch(): eval.batch_size, but 1 for full
// inference on a CPU), with the counters.
void RunImages(benchmark::State& state, const Pipeline& p,
               const data::CocoDataset& ds, const std::string& dir, int n) {
  const bench::BenchDevice& d = bench::Device();
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  torch::manual_seed(0);
  absl::StatusOr<inference::MultiScaleDetector> created =
      inference::MultiScaleDetector::Create(models::FasterRcnn(p.model), p.eval,
                                            p.loader.render, d.device,
                                            d.autocast);
  CHECK(created.ok()) << created.status();
  inference::MultiScaleDetector& detector = *created;
  // Blocks an earlier case left cached (SNIPER_LARGE_BLOCKS=1) would
  // count in this one's peak memory.
  ReleaseCachedLargeBlocks();
  const int batch = static_cast<int>(detector.images_per_batch());
  // Warm-up, not timed: the decoder, allocator, kernels and handles, over
  // one whole batch so that batch-sized buffers are faulted in here (the
  // evaluation of a dataset pays that once, not per batch).
  RunBatchOf(detector, ds, dir, 0, std::min(n, batch));
  bench::Synchronize(d);
  const int64_t warm_pixels = detector.pixels_run();
  const int64_t warm_canvas = detector.canvas_pixels_run();
  const int64_t warm_views = detector.views_run();
  const LargeBlockStats blocks = GetLargeBlockStats();
  bench::ResetPeakRss();
  bench::ResetPeakMemory(d);
  const int64_t faults = MinorFaults();
  int64_t images = 0;
  for (auto _ : state) {
    for (int first = 0; first < n; first += batch) {
      images +=
          RunBatchOf(detector, ds, dir, first, std::min(n, first + batch));
    }
    bench::Synchronize(d);
  }
  state.counters["page_faults_per_image"] =
      static_cast<double>(MinorFaults() - faults) / images;
  state.counters["large_blocks_mapped_per_image"] =
      static_cast<double>(GetLargeBlockStats().mapped - blocks.mapped) / images;
  state.counters["images_per_s"] =
      benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] =
      static_cast<double>(detector.pixels_run() - warm_pixels) / images;
  state.counters["canvas_pixels_per_image"] =
      static_cast<double>(detector.canvas_pixels_run() - warm_canvas) / images;
  state.counters["views_per_image"] =
      static_cast<double>(detector.views_run() - warm_views) / images;
  state.counters["scales"] = static_cast<double>(p.eval.scales.scales.size());
  state.counters["peak_rss_mib"] = bench::PeakRssMib();
  bench::AddMemoryCounters(d, state);
  state.SetLabel(d.name);
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

// `config` with random weights (`layer` over it; the cost does not depend
// on the weights) on the first --coco_images images of coco_mini.
void BM_InferenceCoco(benchmark::State& state, const std::string& config,
                      const std::string& layer) {
  const std::optional<bench::CocoData> data = bench::PaperData();
  if (!data) {
    state.SkipWithError(testing::kNoSharedData);
    return;
  }
  const std::string random = absl::StrCat("init_backbone: \"\" ", layer);
  const Pipeline p = bench::DefaultPipeline(random.c_str(), config.c_str());
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(data->annotations, {});
  CHECK(ds.ok()) << ds.status();
  RunImages(state, p, *ds, data->images, absl::GetFlag(FLAGS_coco_images));
}

void RegisterCases() {
  auto add = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->Iterations(1)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
  };
  add("BM_Inference/sniper", [](benchmark::State& s) { BM_Inference(s, ""); });
  add("BM_Inference/sniper_batch4",
      [](benchmark::State& s) { BM_Inference(s, "eval { batch_size: 4 }"); });
  add("BM_Inference/autofocus_ground_truth", [](benchmark::State& s) {
    BM_Inference(s,
                 "eval { batch_size: 4 autofocus { enabled: true "
                 "ground_truth_focus: true } }");
  });
  add("BM_Inference/single_scale", [](benchmark::State& s) {
    BM_Inference(s, embedded::kSyntheticSingleScale);
  });
  for (int depth : {50, 101}) {
    const std::string r = absl::StrCat("_r", depth);
    const std::string layer =
        absl::StrCat("model { backbone { depth: ", depth, " } }");
    add("BM_InferenceCoco/sniper" + r, [layer](benchmark::State& s) {
      BM_InferenceCoco(s, "configs/coco_sniper_r50.pbtxt", layer);
    });
    add("BM_InferenceCoco/single_scale" + r, [layer](benchmark::State& s) {
      BM_InferenceCoco(s, "configs/coco_single_scale_r50.pbtxt", layer);
    });
  }
  // The three test scales coarse to fine with focus maps from the ground
  // truth (what a perfect focus branch saves at the paper's scales, with
  // the configs' AutoFocus labels: 5 < side < 64 chip pixels positive),
  // four images per RunBatch; and the light backbone.
  const std::string autofocus =
      "eval { batch_size: 4 autofocus { enabled: true ground_truth_focus: "
      "true steps { threshold: 0.5 } steps { threshold: 0.5 } } }";
  add("BM_InferenceCoco/autofocus_r50", [autofocus](benchmark::State& s) {
    BM_InferenceCoco(s, "configs/coco_sniper_r50.pbtxt", autofocus);
  });
  add("BM_InferenceCoco/sniper_mobilenetv2", [](benchmark::State& s) {
    BM_InferenceCoco(s, "configs/coco_sniper_mobilenetv2.pbtxt", "");
  });
  add("BM_InferenceCoco/autofocus_mobilenetv2",
      [autofocus](benchmark::State& s) {
        BM_InferenceCoco(s, "configs/coco_sniper_mobilenetv2.pbtxt", autofocus);
      });
}

}  // namespace
}  // namespace sniper

int main(int argc, char** argv) {
  return sniper::bench::Main(argc, argv, sniper::RegisterCases);
}
