// SNIPER training throughput against the single-scale baseline, end to end
// (loader thread, batch to tensors, forward, backward, SGD step) on the
// same model, in one run:
//   BM_TrainStep/sniper:       configs/default_synthetic.pbtxt: 256x256
//                              chips at three scales (long side 1536, 768,
//                              256), batch 8, positive chips;
//   BM_TrainStep/single_scale: configs/synthetic_single_scale.pbtxt: whole
//                              images at long side 768, batch 2.
//   BM_TrainStep/sniper_no_focus: the default without AutoFocus's focus
//                              branch (model.focus.enabled false).
// Both on the default's synthetic training set (generated into the cache
// like the trainer does), ResNet-18 x0.25, 2 compute threads + 1 loader
// thread (the trainer's choice on this machine). Counters:
//   chips_per_s, images_per_s   images/s for SNIPER = chips/s x the
//                               epoch's images per chip (how fast an epoch
//                               of images goes by);
//   pixels_per_image            network input pixels per image of an epoch
//                               (SNIPER: chips x 256^2 / images; baseline:
//                               padded whole-image canvases);
//   peak_rss_mib                the process's peak resident memory during
//                               the case (VmHWM, reset before each case);
//   loader_wait_s_per_step      time the step waited for its batch (the
//                               loader thread shares the 2 cores).
//
//   bazel run //benchmarks:train_step_benchmark
//   SNIPER_BENCH_STEPS=20 bazel-bin/benchmarks/train_step_benchmark  # quick
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_common.h"
#include "configs/default_synthetic_embedded.h"
#include "configs/synthetic_single_scale_embedded.h"
#include "data/chip_loader.h"
#include "data/coco_dataset.h"
#include "glog/logging.h"
#include "models/faster_rcnn.h"
#include "port/proto_io.h"
#include "port/torch_compat.h"
#include "sniper/batch.h"
#include "sniper/config.h"

namespace sniper {
namespace {

// Enough steps that the loader's head start (queue_depth batches prepared
// before timing) is small next to the steady state. SNIPER_BENCH_STEPS
// overrides it (the CI gate runs fewer; times are per step either way).
int Steps() { return bench::EnvInt("SNIPER_BENCH_STEPS", 60); }

void BM_TrainStep(benchmark::State& state, const char* layer) {
  const Pipeline p = bench::DefaultPipeline(layer);
  const std::string dir = p.config.dataset().synthetic().cache_dir();
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(dir + "/instances_train.json", {});
  CHECK(ds.ok()) << ds.status();

  at::set_num_threads(2);
  data::ChipSampler sampler(p.sampler);
  const double chips_in_epoch =
      static_cast<double>(sampler.Epoch(*ds, nullptr, 0).size());
  const double images_per_chip = ds->num_images() / chips_in_epoch;
  data::ChipLoader loader(*ds, dir + "/images", sampler, nullptr, p.loader);
  loader.StartEpoch(0);
  torch::manual_seed(0);
  models::FasterRcnn model(p.model);
  model->train();
  torch::optim::SGD sgd(model->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9));
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
  int64_t step = 0;
  double wait_s = 0;
  auto run_step = [&]() -> std::pair<int64_t, int64_t> {
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<std::optional<data::ChipBatch>> batch = loader.Next();
    wait_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    CHECK(batch.ok() && batch->has_value());
    ChipBatchToTensors(**batch, p.loader.render, &images, &targets);
    sniper::compat::ZeroGrad(sgd);
    torch::Tensor loss = torch::zeros({});
    for (auto& [name, l] : model->Losses(images, targets, step++)) {
      loss = loss + l;
    }
    loss.backward();
    sgd.step();
    return {(*batch)->size, images.size(2) * images.size(3) * images.size(0)};
  };
  run_step();  // warm-up (allocator, oneDNN kernels)
  bench::ResetPeakRss();
  wait_s = 0;
  int64_t chips = 0, pixels = 0;
  for (auto _ : state) {
    const auto [n, px] = run_step();
    chips += n;
    pixels += px;
  }
  const double images_seen = chips * images_per_chip;
  state.counters["chips_per_s"] =
      benchmark::Counter(chips, benchmark::Counter::kIsRate);
  state.counters["images_per_s"] =
      benchmark::Counter(images_seen, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] = pixels / images_seen;
  state.counters["chips_per_image"] = 1 / images_per_chip;
  state.counters["peak_rss_mib"] = bench::PeakRssMib();
  state.counters["loader_wait_s_per_step"] =
      wait_s / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(BM_TrainStep, sniper, "")
    ->Iterations(Steps())
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
// The default without AutoFocus's focus branch: what the branch costs.
BENCHMARK_CAPTURE(BM_TrainStep, sniper_no_focus,
                  "model { focus { enabled: false } }")
    ->Iterations(Steps())
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, single_scale, embedded::kSyntheticSingleScale)
    ->Iterations(Steps())
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace sniper

BENCHMARK_MAIN();
