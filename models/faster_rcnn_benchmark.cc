// Faster R-CNN training step (forward + backward) on the CPU, SNIPER chips
// vs the single-scale baseline in one binary, and the head layer choice.
//
//   bazel run //models:faster_rcnn_benchmark -- --benchmark_filter=...
//
// BM_TrainChips/depth/width_pct/batch: batch x 512x512 chips; items =
//   chips. BM_TrainSingleScale/depth/width_pct: one 800x1333 image; items =
//   images. Counters: peak_rss_mib (VmHWM, reset before each benchmark via
//   /proc/self/clear_refs), pixels per item.
// BM_TrainChipsC4/...: the same with the classic C4 head.
// BM_TrainSmall_Chips / BM_TrainSmall_SingleScale: a small model on 2
//   256x256 chips vs one 400x667 image (the CI gate's case).
// BM_Fc1_Linear / BM_Fc1_Conv7x7: the RCNN head's first layer for 512 rois
//   (256x7x7 -> 1024) as a Linear layer (BLAS) or a 7x7 convolution
//   (oneDNN): same arithmetic.
// BM_MaskUpsample_*/channels: the mask head's 2x upsampling, deconvolution
//   vs 1x1 convolution + pixel shuffle; BM_MaskHead: the default's mask
//   head on 256 RoIs.
// LibTorch's intra-op threads: the default (1 here) unless --threads.
#include <ATen/Parallel.h>

#include <string>

#include "benchmark/benchmark.h"
#include "models/faster_rcnn.h"
#include "port/peak_memory.h"
#include "port/torch_compat.h"

namespace sniper::models {
namespace {

FasterRcnnOptions Options(int depth, int width_pct,
                          RcnnHead head = RcnnHead::kTwoFc) {
  FasterRcnnOptions o;
  o.head = head;
  if (head == RcnnHead::kC4) {
    o.roi_align.pooled_height = o.roi_align.pooled_width = 14;
  }
  o.backbone.depth = depth;
  o.backbone.width_multiplier = width_pct / 100.0;
  o.num_classes = 80;
  return o;
}

// Two valid boxes and one ignore region per image, scaled to its size.
ChipTargets Targets(double h, double w) {
  ChipTargets t;
  t.boxes = torch::tensor({0.1f, 0.1f, 0.4f, 0.5f, 0.5f, 0.4f, 0.9f, 0.95f})
                .view({2, 4}) *
            torch::tensor({static_cast<float>(w), static_cast<float>(h),
                           static_cast<float>(w), static_cast<float>(h)});
  t.labels = torch::tensor({3, 17}, torch::kLong);
  t.ignore = torch::tensor(
                 {0.6f * static_cast<float>(w), 0.05f * static_cast<float>(h),
                  0.7f * static_cast<float>(w), 0.2f * static_cast<float>(h)})
                 .view({1, 4});
  t.height = h;
  t.width = w;
  return t;
}

// The CI gate's small model: ResNet-18 x0.25, a narrow 2-fc head, 20
// classes (a COCO-sized head costs seconds per step here).
FasterRcnnOptions SmallOptions() {
  FasterRcnnOptions o = Options(18, 25);
  o.num_classes = 20;  // Targets() uses labels 3 and 17
  o.rpn_channels = 64;
  o.rcnn_reduce_channels = 64;
  o.rcnn_fc_channels = 256;
  return o;
}

void RunStep(benchmark::State& state, const FasterRcnnOptions& options,
             int64_t batch, int64_t h, int64_t w) {
  torch::manual_seed(0);
  FasterRcnn model(options);
  model->train();
  torch::optim::SGD opt(model->parameters(),
                        torch::optim::SGDOptions(0.001).momentum(0.9));
  const torch::Tensor images = torch::randn({batch, 3, h, w});
  const std::vector<ChipTargets> targets(batch, Targets(h, w));
  sniper::ResetPeakRss();
  uint64_t step = 0;
  for (auto _ : state) {
    const auto losses = model->Losses(images, targets, step++);
    torch::Tensor total = torch::zeros({});
    for (const auto& [name, l] : losses) total = total + l;
    sniper::compat::ZeroGrad(opt);
    total.backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["peak_rss_mib"] = sniper::PeakRssBytes() / (1024.0 * 1024.0);
  state.counters["pixels_per_item"] = static_cast<double>(h * w);
}

void BM_TrainChips(benchmark::State& state) {
  RunStep(state, Options(state.range(0), state.range(1)), state.range(2), 512,
          512);
}
// The classic C4 head (res5 on 14x14 RoIs) instead of the 2-fc head.
void BM_TrainChipsC4(benchmark::State& state) {
  RunStep(state, Options(state.range(0), state.range(1), RcnnHead::kC4),
          state.range(2), 512, 512);
}
void BM_TrainSingleScale(benchmark::State& state) {
  RunStep(state, Options(state.range(0), state.range(1)), 1, 800, 1333);
}
// The small model at half the paper's sizes: 2 x 256x256 chips vs one
// 400x667 image (the same pixel ratio as 2 x 512^2 vs 800x1333).
void BM_TrainSmall_Chips(benchmark::State& state) {
  RunStep(state, SmallOptions(), 2, 256, 256);
}
void BM_TrainSmall_SingleScale(benchmark::State& state) {
  RunStep(state, SmallOptions(), 1, 400, 667);
}
BENCHMARK(BM_TrainSmall_Chips)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainSmall_SingleScale)->Unit(benchmark::kMillisecond);

BENCHMARK(BM_TrainChips)
    ->ArgNames({"depth", "width_pct", "batch"})
    ->Args({18, 50, 2})
    ->Args({18, 50, 8})
    ->Args({50, 100, 2})
    ->Args({101, 100, 2})
    ->Unit(benchmark::kSecond)
    ->Iterations(2);
BENCHMARK(BM_TrainChipsC4)
    ->ArgNames({"depth", "width_pct", "batch"})
    ->Args({18, 50, 2})
    ->Args({50, 100, 2})
    ->Unit(benchmark::kSecond)
    ->Iterations(2);
BENCHMARK(BM_TrainSingleScale)
    ->ArgNames({"depth", "width_pct"})
    ->Args({18, 50})
    ->Args({50, 100})
    ->Args({101, 100})
    ->Unit(benchmark::kSecond)
    ->Iterations(2);

// kind 0: Linear; 1: 7x7 convolution; 2: 1x1 convolution over the
// flattened [R, 12544, 1, 1] features.
void RunFc1(benchmark::State& state, int kind) {
  torch::manual_seed(0);
  const torch::Tensor x =
      torch::randn({512, 256, 7, 7}, torch::requires_grad());
  torch::nn::Linear linear(256 * 49, 1024);
  torch::nn::Conv2d conv7(torch::nn::Conv2dOptions(256, 1024, 7));
  torch::nn::Conv2d conv1(torch::nn::Conv2dOptions(256 * 49, 1024, 1));
  for (auto _ : state) {
    const torch::Tensor y =
        kind == 0   ? linear(x.flatten(1))
        : kind == 1 ? conv7(x).flatten(1)
                    : conv1(x.reshape({512, 256 * 49, 1, 1})).flatten(1);
    y.sum().backward();
  }
  state.SetItemsProcessed(state.iterations() * 512);
  state.counters["gflop_per_s"] = benchmark::Counter(
      3.0 * 2 * 512.0 * 12544 * 1024 * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}
void BM_Fc1_Linear(benchmark::State& state) { RunFc1(state, 0); }
void BM_Fc1_Conv7x7(benchmark::State& state) { RunFc1(state, 1); }
void BM_Fc1_Conv1x1(benchmark::State& state) { RunFc1(state, 2); }
BENCHMARK(BM_Fc1_Linear)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Fc1_Conv7x7)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Fc1_Conv1x1)->Unit(benchmark::kMillisecond);

// The mask branch's 2x upsampling for 256 RoIs, 64 channels, 14 -> 28
// (the default's mask head), forward + backward: ConvTranspose2d(k 2,
// stride 2) against the same arithmetic as a 1x1 convolution to 4x the
// channels and a pixel shuffle (no overlap between output blocks).
void RunMaskUpsample(benchmark::State& state, bool shuffle) {
  torch::manual_seed(0);
  const int64_t c = state.range(0);
  const torch::Tensor x =
      torch::randn({256, c, 14, 14}, torch::requires_grad());
  torch::nn::ConvTranspose2d deconv(
      torch::nn::ConvTranspose2dOptions(c, c, 2).stride(2));
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c, 4 * c, 1));
  for (auto _ : state) {
    const torch::Tensor y =
        shuffle ? torch::pixel_shuffle(conv(x), 2) : deconv(x);
    y.sum().backward();
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
void BM_MaskUpsample_Deconv(benchmark::State& state) {
  RunMaskUpsample(state, false);
}
void BM_MaskUpsample_Conv1x1Shuffle(benchmark::State& state) {
  RunMaskUpsample(state, true);
}
BENCHMARK(BM_MaskUpsample_Deconv)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaskUpsample_Conv1x1Shuffle)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);

// The whole mask head (2 convs of 64 at 14x14, upsampling, 5 classes) on
// 256 RoIs, forward + backward.
void BM_MaskHead(benchmark::State& state) {
  torch::manual_seed(0);
  MaskHeadOptions o;
  o.channels = 64;
  o.convs = 2;
  MaskHead head(64, 5, o, /*from_res5=*/false);
  const torch::Tensor x =
      torch::randn({256, 64, 14, 14}, torch::requires_grad());
  for (auto _ : state) head->forward(x).sum().backward();
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_MaskHead)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sniper::models

BENCHMARK_MAIN();
