// File: masks/rle_benchmark.cc
//
// Mask IoU of COCO-sized objects on a 640x480 image: run-length arithmetic
// (masks::Iou, what the segm evaluator does) against the straightforward
// dense computation over every pixel of the image (the "dense" peer, from
// decoded masks, decoding not timed), polygon rasterisation, and the mask
// branch's 28 x 28 training targets per RoI. Pairs are
// overlapping octagons of 8..300 px, as detections of one object.
//
//   bazel run //masks:rle_benchmark
#include <cmath>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "masks/polygon.h"
#include "masks/rle.h"
#include "masks/roi_target.h"
#include "masks/segmentation.h"

namespace sniper::masks {
namespace {

constexpr int kH = 480, kW = 640, kPairs = 256;

std::vector<double> Octagon(double cx, double cy, double r) {
  std::vector<double> xy;
  for (int i = 0; i < 8; ++i) {
    const double a = (i + 0.5) * M_PI / 4;
    xy.push_back(cx + r * std::cos(a));
    xy.push_back(cy + r * std::sin(a));
  }
  return xy;
}

struct Pairs {
  std::vector<std::vector<double>> polygons;
  std::vector<Rle> a, b;
  std::vector<std::vector<uint8_t>> dense_a, dense_b;
};

const Pairs& MaskPairs() {
  static const Pairs* p = [] {
    auto* out = new Pairs;
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < kPairs; ++i) {
      const double r = 4 * std::exp(u(rng) * std::log(150.0 / 4));
      const double cx = u(rng) * kW, cy = u(rng) * kH;
      out->polygons.push_back(Octagon(cx, cy, r));
      out->a.push_back(RleFromPolygon(out->polygons.back(), kH, kW));
      out->b.push_back(RleFromPolygon(
          Octagon(cx + 0.2 * r * (u(rng) - 0.5), cy + 0.2 * r, r * 0.9), kH,
          kW));
      out->dense_a.push_back(DecodeColumnMajor(out->a.back()));
      out->dense_b.push_back(DecodeColumnMajor(out->b.back()));
    }
    return out;
  }();
  return *p;
}

void BM_MaskIou_Rle(benchmark::State& state) {
  const Pairs& p = MaskPairs();
  double sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kPairs; ++i) sum += Iou(p.a[i], p.b[i], false);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kPairs);
  state.counters["mean_iou"] = sum / (state.iterations() * kPairs);
}
BENCHMARK(BM_MaskIou_Rle)->Unit(benchmark::kMicrosecond);

void BM_MaskIou_Dense(benchmark::State& state) {
  const Pairs& p = MaskPairs();
  double sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kPairs; ++i) {
      const std::vector<uint8_t>& a = p.dense_a[i];
      const std::vector<uint8_t>& b = p.dense_b[i];
      uint64_t inter = 0, uni = 0;
      for (size_t k = 0; k < a.size(); ++k) {
        inter += a[k] & b[k];
        uni += a[k] | b[k];
      }
      sum += inter == 0 ? 0.0 : static_cast<double>(inter) / uni;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kPairs);
  state.counters["mean_iou"] = sum / (state.iterations() * kPairs);
}
BENCHMARK(BM_MaskIou_Dense)->Unit(benchmark::kMicrosecond);

void BM_RleFromPolygon(benchmark::State& state) {
  const Pairs& p = MaskPairs();
  uint64_t area = 0;
  for (auto _ : state) {
    for (const std::vector<double>& xy : p.polygons) {
      area += Area(RleFromPolygon(xy, kH, kW));
    }
  }
  benchmark::DoNotOptimize(area);
  state.SetItemsProcessed(state.iterations() * kPairs);
}
BENCHMARK(BM_RleFromPolygon)->Unit(benchmark::kMicrosecond);

// Mask R-CNN's training targets: a 28 x 28 target per RoI (the object's box
// grown by 10%) from the object's RLE (crop decode + bilinear) or its
// polygon (rasterised in the RoI's grid), what the mask branch computes
// for every foreground RoI of a step.
void MaskTargets(benchmark::State& state, bool from_polygon) {
  const Pairs& p = MaskPairs();
  std::vector<Segmentation> segs;
  std::vector<RoiBox> rois;
  for (int i = 0; i < kPairs; ++i) {
    Segmentation s = Segmentation::FromRle(p.a[i]);
    if (from_polygon) {
      s = Segmentation{};
      s.AddPolygon(p.polygons[i]);
    }
    segs.push_back(std::move(s));
    const MaskBox b = ToBox(p.a[i]);
    rois.push_back({b.x - 0.05 * b.w, b.y - 0.05 * b.h, b.x + 1.05 * b.w,
                    b.y + 1.05 * b.h});
  }
  uint64_t set = 0;
  for (auto _ : state) {
    for (int i = 0; i < kPairs; ++i) {
      for (uint8_t v : MaskTarget(segs[i], rois[i], 28)) set += v;
    }
  }
  benchmark::DoNotOptimize(set);
  state.SetItemsProcessed(state.iterations() * kPairs);
  state.counters["set_fraction"] =
      static_cast<double>(set) / (state.iterations() * kPairs * 28.0 * 28.0);
}
void BM_MaskTarget_Rle(benchmark::State& state) { MaskTargets(state, false); }
void BM_MaskTarget_Polygon(benchmark::State& state) {
  MaskTargets(state, true);
}
BENCHMARK(BM_MaskTarget_Rle)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaskTarget_Polygon)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sniper::masks

BENCHMARK_MAIN();
