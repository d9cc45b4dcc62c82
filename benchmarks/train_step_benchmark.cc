// SNIPER training throughput against the single-scale baseline, end to end
// (loader threads, batch to tensors, to the device, the trainer's step:
// forward under autocast, backward, SGD update), on the same model, in one
// run, on --device in --precision (benchmarks/bench_device.h).
//
// The synthetic cases (the CI gate's, on the default's synthetic set,
// ResNet-18 x0.25):
//   BM_TrainStep/sniper:       configs/default_synthetic.pbtxt: chips at
//                              three scales (long side 1536, 768, 256),
//                              batch 8, positive chips;
//   BM_TrainStep/sniper_no_focus: the same without AutoFocus's focus
//                              branch (model.focus.enabled false);
//   BM_TrainStep/sniper_mask:  the same with the mask branch
//                              (configs/synthetic_mask.pbtxt): what masks
//                              cost per step;
//   BM_TrainStep/single_scale: configs/synthetic_single_scale.pbtxt: whole
//                              images at long side 768, batch 2;
//   BM_TrainStep/snip:         configs/synthetic_snip.pbtxt: SNIP, whole
//                              images at the three scales with their valid
//                              ranges, batch 8 (a fifth of the steps).
// The paper's setting (SNIPER.md section 8), on real COCO images
// (--data_dir, default ../shared/data/coco_mini; skipped without them),
// ResNet-50/101 with dilated res5 as configs/coco_sniper_r50/r101.pbtxt,
// from random weights (the work per step does not depend on them):
//   BM_TrainStepPaper/sniper_rD:       the paper's sampler (greedy cover,
//                              512x512 chips at (1400, 2000), (800, 1280),
//                              512), 16 chips per step (--batch);
//   BM_TrainStepPaper/sniper_rD_ours:  our sampler (exact cover, tight
//                              canvases grouped by shape, issue #22);
//   BM_TrainStepPaper/single_scale_rD: whole images at 800x1333, a batch of
//                              the same pixel budget (16 x 512^2 ~ 4 x
//                              800 x 1333);
//   BM_LargestBatch/sniper_rD (with --largest_batch): the largest batch of
//                              512x512 chips whose training step fits on
//                              the device (doubling, then bisection to
//                              8 chips), and its chips/s.
// Counters:
//   chips_per_s, images_per_s   images/s = chips/s x the epoch's images per
//                               chip (positive chips: no proposals here),
//                               how fast an epoch of images goes by;
//   pixels_per_image            network input pixels per image of an epoch;
//   peak_rss_mib                peak resident memory during the case
//                               (VmHWM, reset before each case);
//   peak_gpu_allocated_mib, peak_gpu_reserved_mib  CUDA: the caching
//                               allocator's peaks during the timed steps;
//   loader_wait_s_per_step      time a step waited for its batch;
//   nonfinite_steps             steps the trainer's step skipped.
//
//   bazel run //benchmarks:train_step_benchmark
//   SNIPER_BENCH_STEPS=20 bazel-bin/benchmarks/train_step_benchmark  # quick
//   bazel-bin/benchmarks/train_step_benchmark --device=cuda --precision=BF16
//       --benchmark_filter=Paper --steps=20 --largest_batch   (one line)
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_common.h"
#include "benchmarks/bench_device.h"
#include "configs/synthetic_mask_embedded.h"
#include "configs/synthetic_single_scale_embedded.h"
#include "configs/synthetic_snip_embedded.h"
#include "data/chip_loader.h"
#include "data/coco_dataset.h"
#include "glog/logging.h"
#include "models/faster_rcnn.h"
#include "port/torch_compat.h"
#include "sniper/batch.h"
#include "sniper/config.h"
#include "sniper/loss_scaler.h"
#include "sniper/train_step.h"

ABSL_FLAG(int, steps, 0,
          "timed steps per case (0: $SNIPER_BENCH_STEPS, else 60)");
ABSL_FLAG(int, batch, 16,
          "chips per step of the paper-setting SNIPER cases; their "
          "single-scale baselines get whole 800x1333 images of the same "
          "pixel budget");
ABSL_FLAG(int, threads, 2, "compute threads (at::set_num_threads)");
ABSL_FLAG(bool, largest_batch, false,
          "also run BM_LargestBatch: the largest chip batch that fits");
ABSL_FLAG(int, largest_batch_cap, 1024,
          "BM_LargestBatch stops doubling at this many chips");

namespace sniper {
namespace {

constexpr double kPaperChip = 512;
constexpr double kSingleScalePixels = 800.0 * 1333.0;

int Steps() {
  const int steps = absl::GetFlag(FLAGS_steps);
  return steps > 0 ? steps : bench::EnvInt("SNIPER_BENCH_STEPS", 60);
}

// The model, its optimizer and the trainer's step, on the bench device.
class Trainee {
 public:
  explicit Trainee(const Pipeline& p) : model_(p.model) {
    const bench::BenchDevice& d = bench::Device();
    torch::manual_seed(0);
    model_->to(d.device);
    model_->train();
    // A small learning rate: random weights stay finite over the steps.
    sgd_ = std::make_unique<torch::optim::SGD>(
        model_->parameters(), torch::optim::SGDOptions(1e-3).momentum(0.9));
    scaler_ = std::make_unique<LossScaler>(
        p.config.optimizer().initial_loss_scale(),
        p.config.optimizer().loss_scale_growth_interval());
    step_ = std::make_unique<TrainStep>(
        model_, *sgd_, TrainStepOptions{d.device, d.autocast, 0},
        d.precision == PipelineConfig::FP16 ? scaler_.get() : nullptr);
  }

  // One step on `images` (on the device); false when it was skipped as
  // non-finite. Errors (out of memory among them) are the Status.
  absl::StatusOr<bool> Step(const torch::Tensor& images,
                            const std::vector<models::ChipTargets>& targets) {
    absl::StatusOr<StepOutcome> out = step_->Run(images, targets, seed_++, 0);
    if (!out.ok()) return out.status();
    return out->result != StepResult::kNonFinite;
  }

  void ZeroGrad() { compat::ZeroGrad(*sgd_); }

 private:
  models::FasterRcnn model_;
  std::unique_ptr<torch::optim::SGD> sgd_;
  std::unique_ptr<LossScaler> scaler_;
  std::unique_ptr<TrainStep> step_;
  uint64_t seed_ = 0;
};

// A loader over `ds` for `p` with the epoch's chips per image.
struct Feed {
  Feed(const Pipeline& p, const data::CocoDataset& ds,
       const std::string& images)
      : sampler(p.sampler),
        chips_per_image(
            static_cast<double>(sampler.Epoch(ds, nullptr, 0).size()) /
            ds.num_images()),
        loader(ds, images, sampler, nullptr, p.loader),
        masks_from(p.model.has_mask() ? &ds : nullptr) {
    loader.StartEpoch(0);
  }

  // The next batch, on the device.
  int64_t Next(const Pipeline& p, torch::Tensor* images,
               std::vector<models::ChipTargets>* targets) {
    absl::StatusOr<std::optional<data::ChipBatch>> batch = loader.Next();
    CHECK(batch.ok()) << batch.status();
    if (!batch->has_value()) {  // a short epoch (small --data_dir): again
      loader.StartEpoch(++epoch);
      batch = loader.Next();
      CHECK(batch.ok() && batch->has_value()) << "an empty epoch";
    }
    ChipBatchToTensors(**batch, p.loader.render, images, targets, masks_from);
    BatchToDevice(bench::Device().device, images, targets);
    return (*batch)->size;
  }

  data::ChipSampler sampler;
  double chips_per_image;
  data::ChipLoader loader;
  const data::CocoDataset* masks_from;  // the mask branch's segmentations
  int epoch = 0;
};

// The timed steps of one case and its counters.
void TimedSteps(benchmark::State& state, const Pipeline& p,
                const data::CocoDataset& ds, const std::string& images_dir) {
  const bench::BenchDevice& d = bench::Device();
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  Feed feed(p, ds, images_dir);
  Trainee trainee(p);
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
  // Warm-up (allocator, kernels, cuBLAS/cuDNN handles), not timed.
  feed.Next(p, &images, &targets);
  CHECK(trainee.Step(images, targets).ok());
  bench::Synchronize(d);
  bench::ResetPeakRss();
  bench::ResetPeakMemory(d);
  double wait_s = 0;
  int64_t chips = 0, pixels = 0, nonfinite = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    chips += feed.Next(p, &images, &targets);
    wait_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    pixels += images.size(0) * images.size(2) * images.size(3);
    absl::StatusOr<bool> applied = trainee.Step(images, targets);
    CHECK(applied.ok()) << applied.status();
    nonfinite += *applied ? 0 : 1;
    bench::Synchronize(d);
  }
  const double images_seen = chips / feed.chips_per_image;
  state.counters["chips_per_s"] =
      benchmark::Counter(chips, benchmark::Counter::kIsRate);
  state.counters["images_per_s"] =
      benchmark::Counter(images_seen, benchmark::Counter::kIsRate);
  state.counters["pixels_per_image"] = pixels / images_seen;
  state.counters["chips_per_image"] = feed.chips_per_image;
  state.counters["batch"] = p.loader.batch_size;
  state.counters["peak_rss_mib"] = bench::PeakRssMib();
  state.counters["loader_wait_s_per_step"] =
      wait_s / static_cast<double>(state.iterations());
  state.counters["nonfinite_steps"] = static_cast<double>(nonfinite);
  bench::AddMemoryCounters(d, state);
  state.SetLabel(d.name);
}

void BM_TrainStep(benchmark::State& state, const std::string& layer) {
  const Pipeline p = bench::DefaultPipeline(layer.c_str());
  const std::string dir = p.config.dataset().synthetic().cache_dir();
  data::CocoReaderOptions read;
  read.keep_segmentations = p.model.has_mask();
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(dir + "/instances_train.json", read);
  CHECK(ds.ok()) << ds.status();
  TimedSteps(state, p, *ds, dir + "/images");
}

// The paper's sampler over our COCO configs' (SNIPER.md section 3).
constexpr char kPaperSampler[] = "sampler { cover: GREEDY canvas: FIXED } ";

// A paper-setting case: `config` (a configs/ file) for ResNet-`depth`,
// with the paper's sampler when `paper_sampler`, random weights, and a
// batch of --batch chips (or its pixel budget in whole images when
// `whole_images`); nullopt (the case skipped) without the COCO data.
std::optional<std::pair<Pipeline, data::CocoDataset>> PaperPipeline(
    benchmark::State& state, const std::string& config, int depth,
    bool paper_sampler, bool whole_images, bench::CocoData* data) {
  const std::optional<bench::CocoData> found = bench::PaperData();
  if (!found) {
    state.SkipWithError("no COCO data: --data_dir or ../shared/data/coco_mini");
    return std::nullopt;
  }
  *data = *found;
  const int chips = absl::GetFlag(FLAGS_batch);
  const int batch =
      whole_images
          ? std::max(1,
                     static_cast<int>(std::lround(
                         chips * kPaperChip * kPaperChip / kSingleScalePixels)))
          : chips;
  const std::string layer = absl::StrCat(
      "init_backbone: \"\" model { backbone { depth: ", depth, " } } ",
      paper_sampler ? kPaperSampler : "", "loader { batch_size: ", batch,
      paper_sampler ? " group_by_shape: false" : "", " }");
  Pipeline p = bench::DefaultPipeline(layer.c_str(), config.c_str());
  absl::StatusOr<data::CocoDataset> ds =
      data::ReadCocoInstances(data->annotations, {});
  CHECK(ds.ok()) << ds.status();
  return std::make_pair(std::move(p), *std::move(ds));
}

void BM_TrainStepPaper(benchmark::State& state, int depth, bool single_scale,
                       bool ours) {
  bench::CocoData data;
  auto pd = PaperPipeline(state,
                          single_scale ? "configs/coco_single_scale_r50.pbtxt"
                                       : "configs/coco_sniper_r50.pbtxt",
                          depth, !ours && !single_scale, single_scale, &data);
  if (!pd) return;
  TimedSteps(state, pd->first, pd->second, data.images);
}

// 512x512 chips of a few loader batches (padded to the full chip) and
// their targets, on the device: what BM_LargestBatch repeats.
struct ChipPool {
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;

  // The first `n` chips, cycling through the pool.
  std::pair<torch::Tensor, std::vector<models::ChipTargets>> Take(
      int64_t n) const {
    const int64_t size = images.size(0);
    torch::Tensor index =
        torch::arange(
            n, torch::TensorOptions(torch::kLong).device(images.device())) %
        size;
    std::vector<models::ChipTargets> t;
    for (int64_t i = 0; i < n; ++i) t.push_back(targets[i % size]);
    return {images.index_select(0, index), std::move(t)};
  }
};

ChipPool DrawPool(const Pipeline& p, Feed& feed, int batches) {
  ChipPool pool;
  std::vector<torch::Tensor> parts;
  const int64_t side = static_cast<int64_t>(kPaperChip);
  for (int b = 0; b < batches; ++b) {
    torch::Tensor images;
    std::vector<models::ChipTargets> targets;
    feed.Next(p, &images, &targets);
    parts.push_back(torch::constant_pad_nd(
        images, {0, side - images.size(3), 0, side - images.size(2)}));
    pool.targets.insert(pool.targets.end(), targets.begin(), targets.end());
  }
  pool.images = torch::cat(parts);
  return pool;
}

// Whether training steps of `n` chips fit on the device: two steps (the
// second with the optimizer's momentum buffers) without running out of
// memory; *seconds is the second one's time.
bool Fits(Trainee& trainee, const ChipPool& pool, int64_t n, double* seconds) {
  const bench::BenchDevice& d = bench::Device();
  bool fits = true;
  try {
    auto [images, targets] = pool.Take(n);
    for (int k = 0; k < 2 && fits; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      absl::StatusOr<bool> applied = trainee.Step(images, targets);
      // The trainer's step returns the forward pass's errors as a Status.
      if (!applied.ok()) {
        CHECK(bench::IsOutOfMemory(applied.status().message()))
            << applied.status();
        fits = false;
      }
      bench::Synchronize(d);
      *seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
    }
  } catch (const c10::Error& e) {
    if (!bench::IsOutOfMemory(e.what_without_backtrace())) throw;
    fits = false;
  }
  if (!fits) {
    trainee.ZeroGrad();
    bench::ReleaseCachedMemory(d);
  }
  LOG(INFO) << "BM_LargestBatch: " << n << " chips "
            << (fits ? "fit" : "do not fit");
  return fits;
}

// The largest batch of the paper's 512x512 chips (a multiple of 8 up to
// --largest_batch_cap) whose step fits: doubling from 16, then bisection.
void BM_LargestBatch(benchmark::State& state, int depth) {
  bench::CocoData data;
  auto pd = PaperPipeline(state, "configs/coco_sniper_r50.pbtxt", depth, true,
                          false, &data);
  if (!pd) return;
  const Pipeline& p = pd->first;
  const bench::BenchDevice& d = bench::Device();
  const int64_t cap = absl::GetFlag(FLAGS_largest_batch_cap);
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  Feed feed(p, pd->second, data.images);
  const ChipPool pool = DrawPool(p, feed, 4);
  Trainee trainee(p);
  int64_t fit = 0, fail = 0;  // largest known to fit, smallest known not to
  double seconds = 0, fit_seconds = 0;
  for (auto _ : state) {
    for (int64_t n = std::min<int64_t>(16, cap);; n = std::min(2 * n, cap)) {
      if (!Fits(trainee, pool, n, &seconds)) {
        fail = n;
        break;
      }
      fit = n, fit_seconds = seconds;
      if (n == cap) break;
    }
    while (fail > 0 && fail - fit > 8) {
      const int64_t mid = std::max<int64_t>(fit + 1, (fit + fail) / 16 * 8);
      if (Fits(trainee, pool, mid, &seconds)) {
        fit = mid, fit_seconds = seconds;
      } else {
        fail = mid;
      }
    }
  }
  // The peak memory of the largest batch on its own.
  bench::ResetPeakMemory(d);
  if (fit > 0) CHECK(Fits(trainee, pool, fit, &fit_seconds));
  state.counters["largest_batch"] = static_cast<double>(fit);
  state.counters["hit_cap"] = fit == cap ? 1 : 0;
  state.counters["chips_per_s"] = fit > 0 ? fit / fit_seconds : 0;
  state.counters["images_per_s"] =
      fit > 0 ? fit / fit_seconds / feed.chips_per_image : 0;
  bench::AddMemoryCounters(d, state);
  state.SetLabel(d.name);
}

void RegisterCases() {
  const int steps = Steps();
  auto add = [&](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->Iterations(steps)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
  };
  add("BM_TrainStep/sniper", [](benchmark::State& s) { BM_TrainStep(s, ""); });
  // The default without AutoFocus's focus branch: what the branch costs.
  add("BM_TrainStep/sniper_no_focus", [](benchmark::State& s) {
    BM_TrainStep(s, "model { focus { enabled: false } }");
  });
  // With the mask branch: what masks cost.
  add("BM_TrainStep/sniper_mask",
      [](benchmark::State& s) { BM_TrainStep(s, embedded::kSyntheticMask); });
  add("BM_TrainStep/single_scale", [](benchmark::State& s) {
    BM_TrainStep(s, embedded::kSyntheticSingleScale);
  });
  // SNIP: whole images at the default's three scales with its valid ranges
  // (what SNIPER's chips replace), batches of 8 as the default's. A step
  // costs about 12x SNIPER's, so it runs a fifth of the steps (at least 2).
  benchmark::RegisterBenchmark(
      "BM_TrainStep/snip",
      [](benchmark::State& s) { BM_TrainStep(s, embedded::kSyntheticSnip); })
      ->Iterations(std::max(2, steps / 5))
      ->Unit(benchmark::kSecond)
      ->UseRealTime();
  for (int depth : {50, 101}) {
    const std::string r = absl::StrCat("_r", depth);
    add("BM_TrainStepPaper/sniper" + r, [depth](benchmark::State& s) {
      BM_TrainStepPaper(s, depth, false, false);
    });
    add("BM_TrainStepPaper/sniper" + r + "_ours", [depth](benchmark::State& s) {
      BM_TrainStepPaper(s, depth, false, true);
    });
    add("BM_TrainStepPaper/single_scale" + r, [depth](benchmark::State& s) {
      BM_TrainStepPaper(s, depth, true, false);
    });
  }
  if (absl::GetFlag(FLAGS_largest_batch)) {
    for (int depth : {50, 101}) {
      benchmark::RegisterBenchmark(
          absl::StrCat("BM_LargestBatch/sniper_r", depth).c_str(),
          [depth](benchmark::State& s) { BM_LargestBatch(s, depth); })
          ->Iterations(1)
          ->Unit(benchmark::kSecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace sniper

int main(int argc, char** argv) {
  return sniper::bench::Main(argc, argv, sniper::RegisterCases);
}
