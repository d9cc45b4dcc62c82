// RoIAlign throughput on the CPU (one intra-op thread), on the feature map
// of a 512x512 chip at stride 16 (32x32), 7x7 bins, sampling ratio 2.
//
//   bazel run //ops:roi_align_benchmark
//
// BM_RoIAlignForward/rois/channels, BM_RoIAlignBackward/rois/channels,
// BM_RoIAlignForward_ChannelsLast (the map stored NHWC), and
// BM_RoIAlignForward_Reference (per-output sampling, the plain way) for the
// gated speed-up ratio; *_Torchvision: torchvision's CPU kernels on the same
// inputs (skipped without python3-torchvision).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <random>

#include "benchmark/benchmark.h"
#include "ops/roi_align.h"
#include "ops/testing/reference_ops.h"
#include "ops/testing/torchvision_ops.h"

namespace sniper::ops {
namespace {

at::Tensor ChipRois(int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  at::Tensor rois = at::empty({k, 5});
  float* r = rois.data_ptr<float>();
  for (int64_t i = 0; i < k; ++i) {
    const float w = 16 + u(rng) * 300, h = 16 + u(rng) * 300;
    const float x = u(rng) * (512 - w), y = u(rng) * (512 - h);
    r[5 * i] = 0;
    r[5 * i + 1] = x;
    r[5 * i + 2] = y;
    r[5 * i + 3] = x + w;
    r[5 * i + 4] = y + h;
  }
  return rois;
}

RoIAlignOptions Options() {
  RoIAlignOptions o;
  o.pooled_height = o.pooled_width = 7;
  o.spatial_scale = 1.0 / 16;
  o.sampling_ratio = 2;
  return o;
}

// Times fn(features, rois) on the benchmark's feature map and rois.
template <typename Fn>
void RunForward(benchmark::State& state, Fn fn,
                at::MemoryFormat format = at::MemoryFormat::Contiguous) {
  at::set_num_threads(1);
  const at::Tensor features =
      at::randn({1, state.range(1), 32, 32}).contiguous(format);
  const at::Tensor rois = ChipRois(state.range(0), 1);
  for (auto _ : state) {
    const at::Tensor out = fn(features, rois);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Times fn(grad_output, rois) (the input gradient of a 1 x C x 32 x 32 map).
template <typename Fn>
void RunBackward(benchmark::State& state, Fn fn) {
  at::set_num_threads(1);
  const at::Tensor rois = ChipRois(state.range(0), 1);
  const at::Tensor grad = at::randn({state.range(0), state.range(1), 7, 7});
  for (auto _ : state) {
    const at::Tensor g = fn(grad, rois);
    benchmark::DoNotOptimize(g.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_RoIAlignForward(benchmark::State& state) {
  RunForward(state, [](const at::Tensor& f, const at::Tensor& r) {
    return detail::RoIAlignForward(f, r, Options());
  });
}

// The same on a channels-last map (inference on a CPU: the backbone's
// oneDNN convolutions leave their outputs so).
void BM_RoIAlignForward_ChannelsLast(benchmark::State& state) {
  RunForward(
      state,
      [](const at::Tensor& f, const at::Tensor& r) {
        return detail::RoIAlignForward(f, r, Options());
      },
      at::MemoryFormat::ChannelsLast);
}

void BM_RoIAlignForward_Reference(benchmark::State& state) {
  RunForward(state, [](const at::Tensor& f, const at::Tensor& r) {
    return sniper::testing::ReferenceRoIAlign(f, r, 7, 1.0 / 16, 2);
  });
}

void BM_RoIAlignBackward(benchmark::State& state) {
  const std::vector<int64_t> sizes = {1, state.range(1), 32, 32};
  RunBackward(state, [&](const at::Tensor& g, const at::Tensor& r) {
    return detail::RoIAlignBackward(g, r, Options(), sizes, at::kFloat);
  });
}

void BM_RoIAlignForward_Torchvision(benchmark::State& state) {
  const auto* tv = sniper::testing::LoadTorchvisionOrSkip(state);
  if (tv == nullptr) return;
  RunForward(state, [tv](const at::Tensor& f, const at::Tensor& r) {
    return tv->roi_align.call(f, r, 1.0 / 16, 7, 7, 2, true);
  });
}

void BM_RoIAlignBackward_Torchvision(benchmark::State& state) {
  const auto* tv = sniper::testing::LoadTorchvisionOrSkip(state);
  if (tv == nullptr) return;
  const int64_t channels = state.range(1);
  RunBackward(state, [tv, channels](const at::Tensor& g, const at::Tensor& r) {
    return tv->roi_align_backward.call(g, r, 1.0 / 16, 7, 7, 1, channels, 32,
                                       32, 2, true);
  });
}

BENCHMARK(BM_RoIAlignForward_Torchvision)
    ->ArgNames({"rois", "channels"})
    ->Args({512, 256})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RoIAlignBackward_Torchvision)
    ->ArgNames({"rois", "channels"})
    ->Args({512, 256})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RoIAlignForward)
    ->ArgNames({"rois", "channels"})
    ->Args({128, 256})
    ->Args({512, 64})
    ->Args({512, 256})
    ->Args({4800, 256})
    ->Args({512, 1024})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RoIAlignForward_ChannelsLast)
    ->ArgNames({"rois", "channels"})
    ->Args({512, 64})
    ->Args({512, 256})
    ->Args({4800, 256})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RoIAlignForward_Reference)
    ->ArgNames({"rois", "channels"})
    ->Args({512, 256})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RoIAlignBackward)
    ->ArgNames({"rois", "channels"})
    ->Args({128, 256})
    ->Args({512, 256})
    ->Args({4800, 256})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sniper::ops

BENCHMARK_MAIN();
