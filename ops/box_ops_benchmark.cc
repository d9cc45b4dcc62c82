// Box operator throughput on the CPU (one intra-op thread, LibTorch's
// default here), with the straightforward reference in the same binary.
//
//   bazel run //ops:box_ops_benchmark
//
// BM_Nms/<n>: NMS at 0.7 over n RPN-like proposals (clusters of overlapping
//   boxes around objects, as in a 512x512 chip); kept count as an exact
//   counter. BM_Nms_Reference/<n>: the same with the plain kernel.
// BM_Nms_Torchvision/<n>: torchvision's CPU NMS on the same inputs (skipped
//   without python3-torchvision).
// BM_BoxIou/<n>: n x 256 IoU matrix (anchors against ground truth).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <random>

#include "benchmark/benchmark.h"
#include "ops/box_iou.h"
#include "ops/nms.h"
#include "ops/testing/reference_ops.h"
#include "ops/testing/torchvision_ops.h"

namespace sniper::ops {
namespace {

// n proposals around 40 objects in a 512x512 chip, jittered: realistic
// overlap structure (many suppressions per kept box).
std::pair<at::Tensor, at::Tensor> Proposals(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> objects;
  for (int k = 0; k < 40; ++k) {
    const float w = 16 + u(rng) * 200, h = 16 + u(rng) * 200;
    const float x = u(rng) * (512 - w), y = u(rng) * (512 - h);
    objects.insert(objects.end(), {x, y, w, h});
  }
  at::Tensor boxes = at::empty({n, 4});
  at::Tensor scores = at::empty({n});
  float* b = boxes.data_ptr<float>();
  float* s = scores.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* o = &objects[4 * (rng() % 40)];
    const float jx = (u(rng) - 0.5f) * 0.4f * o[2];
    const float jy = (u(rng) - 0.5f) * 0.4f * o[3];
    const float sw = 0.7f + 0.6f * u(rng), sh = 0.7f + 0.6f * u(rng);
    b[4 * i] = o[0] + jx;
    b[4 * i + 1] = o[1] + jy;
    b[4 * i + 2] = o[0] + jx + o[2] * sw;
    b[4 * i + 3] = o[1] + jy + o[3] * sh;
    s[i] = u(rng);
  }
  return {boxes, scores};
}

// Times NMS at 0.7 by fn(boxes, scores) over n RPN-like proposals.
template <typename Fn>
void RunNms(benchmark::State& state, Fn fn) {
  at::set_num_threads(1);
  const auto [boxes, scores] = Proposals(state.range(0), 1);
  int64_t kept = 0;
  for (auto _ : state) {
    const at::Tensor keep = fn(boxes, scores);
    kept = keep.numel();
    benchmark::DoNotOptimize(keep.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["kept"] = static_cast<double>(kept);
}

void BM_Nms(benchmark::State& state) {
  RunNms(state, [](const at::Tensor& b, const at::Tensor& s) {
    return Nms(b, s, 0.7);
  });
}

void BM_Nms_Reference(benchmark::State& state) {
  RunNms(state, [](const at::Tensor& b, const at::Tensor& s) {
    return sniper::testing::ReferenceNms(b, s, 0.7);
  });
}

// torchvision's CPU kernel (Debian python3-torchvision), same inputs.
void BM_Nms_Torchvision(benchmark::State& state) {
  const auto* tv = sniper::testing::LoadTorchvisionOrSkip(state);
  if (tv == nullptr) return;
  RunNms(state, [tv](const at::Tensor& b, const at::Tensor& s) {
    return tv->nms.call(b, s, 0.7);
  });
}

BENCHMARK(BM_Nms_Torchvision)
    ->ArgName("boxes")
    ->Arg(1000)
    ->Arg(6000)
    ->Arg(12000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Nms)->ArgName("boxes")->Arg(1000)->Arg(6000)->Arg(12000)->Unit(
    benchmark::kMicrosecond);
BENCHMARK(BM_Nms_Reference)
    ->ArgName("boxes")
    ->Arg(1000)
    ->Arg(6000)
    ->Arg(12000)
    ->Unit(benchmark::kMicrosecond);

void BM_BoxIou(benchmark::State& state) {
  at::set_num_threads(1);
  const at::Tensor a = Proposals(state.range(0), 2).first;
  const at::Tensor b = Proposals(256, 3).first;
  for (auto _ : state) {
    const at::Tensor iou = BoxIou(a, b);
    benchmark::DoNotOptimize(iou.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 256);
}
BENCHMARK(BM_BoxIou)->ArgName("boxes")->Arg(1000)->Arg(20000)->Unit(
    benchmark::kMicrosecond);

}  // namespace
}  // namespace sniper::ops

BENCHMARK_MAIN();
