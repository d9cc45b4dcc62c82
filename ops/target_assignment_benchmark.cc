// Target assignment for a batch of 16 chips of 512x512 (stride 16: 32x32x21
// = 21,504 anchors per chip), 12 valid GT and 4 ignore regions per chip;
// RCNN with 300 proposals per chip. items_per_second counts chips.
//
//   bazel run //ops:target_assignment_benchmark
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

#include "benchmark/benchmark.h"
#include "ops/anchors.h"
#include "ops/target_assignment.h"

namespace sniper::ops {
namespace {

constexpr int kChips = 16;

at::Tensor RandomBoxes(int64_t n, float min_size, float max_size) {
  const at::Tensor wh = min_size + at::rand({n, 2}) * (max_size - min_size);
  const at::Tensor xy = at::rand({n, 2}) * (512 - wh);
  return at::cat({xy, xy + wh}, 1);
}

void BM_AssignRpnTargets_16Chips(benchmark::State& state) {
  at::set_num_threads(1);
  at::manual_seed(0);
  const at::Tensor anchors = GridAnchors(AnchorOptions(), 32, 32);
  std::vector<at::Tensor> gt, ignore;
  for (int i = 0; i < kChips; ++i) {
    gt.push_back(RandomBoxes(12, 16, 300));
    ignore.push_back(RandomBoxes(4, 8, 200));
  }
  int64_t positives = 0;
  for (auto _ : state) {
    positives = 0;
    for (int i = 0; i < kChips; ++i) {
      const RpnTargets t = AssignRpnTargets(anchors, gt[i], ignore[i], 512, 512,
                                            RpnTargetOptions(), i);
      positives += (t.labels == 1).sum().item<int64_t>();
    }
  }
  state.SetItemsProcessed(state.iterations() * kChips);
  state.counters["positives"] = static_cast<double>(positives);
}
BENCHMARK(BM_AssignRpnTargets_16Chips)->Unit(benchmark::kMillisecond);

void BM_AssignRcnnTargets_16Chips(benchmark::State& state) {
  at::set_num_threads(1);
  at::manual_seed(1);
  std::vector<at::Tensor> proposals, gt, labels, ignore;
  for (int i = 0; i < kChips; ++i) {
    proposals.push_back(RandomBoxes(300, 8, 400));
    gt.push_back(RandomBoxes(12, 16, 300));
    labels.push_back(at::randint(0, 80, {12}, at::kLong));
    ignore.push_back(RandomBoxes(4, 8, 200));
  }
  for (auto _ : state) {
    for (int i = 0; i < kChips; ++i) {
      const RcnnTargets t = AssignRcnnTargets(
          proposals[i], gt[i], labels[i], ignore[i], RcnnTargetOptions(), i);
      benchmark::DoNotOptimize(t.labels.data_ptr());
    }
  }
  state.SetItemsProcessed(state.iterations() * kChips);
}
BENCHMARK(BM_AssignRcnnTargets_16Chips)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sniper::ops

BENCHMARK_MAIN();
