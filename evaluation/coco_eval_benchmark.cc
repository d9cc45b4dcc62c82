// The evaluator on a COCO-val-sized workload: 5,000 images, 80 categories,
// about 7.4 ground-truth boxes per image (1% crowd) like val2017, and 100
// detections per image (jittered copies of the ground truth with mostly
// right labels, plus background boxes). One iteration is one full
// evaluation (matching, accumulation, the 12 numbers). The segm case gives
// every box and detection a 640x480 mask (an octagon inscribed in its box,
// rasterised as COCO polygons are) and evaluates mask IoUs.
//
//   bazel run //evaluation:coco_eval_benchmark
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "evaluation/coco_eval.h"
#include "glog/logging.h"
#include "masks/polygon.h"

namespace sniper::evaluation {
namespace {

struct Workload {
  EvalGroundTruth gt;
  std::vector<Detection> dets;
};

const Workload& CocoValSized() {
  static const Workload* w = [] {
    auto* out = new Workload;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    for (int k = 0; k < 80; ++k) out->gt.category_ids.push_back(k + 1 + k / 10);
    for (int i = 0; i < 5000; ++i) {
      const int64_t image = 100000 + 13 * i;
      out->gt.image_ids.push_back(image);
      const int n_gt = static_cast<int>(u(rng) * 14.8);
      std::vector<GtBox> mine;
      for (int j = 0; j < n_gt; ++j) {
        GtBox g;
        g.image_id = image;
        g.category_id = out->gt.category_ids[rng() % 80];
        const double side = std::exp(std::log(6.0) + u(rng) * std::log(80.0));
        g.w = side * (0.6 + 0.8 * u(rng));
        g.h = side * (0.6 + 0.8 * u(rng));
        g.x = u(rng) * (640 - g.w);
        g.y = u(rng) * (480 - g.h);
        g.area = g.w * g.h * (0.5 + 0.5 * u(rng));
        g.iscrowd = u(rng) < 0.01;
        mine.push_back(g);
        out->gt.boxes.push_back(g);
      }
      for (int d = 0; d < 100; ++d) {
        Detection det;
        det.image_id = image;
        if (!mine.empty() && d < 4 * n_gt) {
          const GtBox& g = mine[d % mine.size()];
          det.category_id =
              u(rng) < 0.8 ? g.category_id : out->gt.category_ids[rng() % 80];
          det.x = g.x + (u(rng) - 0.5) * 0.3 * g.w;
          det.y = g.y + (u(rng) - 0.5) * 0.3 * g.h;
          det.w = g.w * (0.8 + 0.4 * u(rng));
          det.h = g.h * (0.8 + 0.4 * u(rng));
          det.score = 0.3 + 0.7 * u(rng);
        } else {
          det.category_id = out->gt.category_ids[rng() % 80];
          det.w = 10 + 200 * u(rng);
          det.h = 10 + 200 * u(rng);
          det.x = u(rng) * 600;
          det.y = u(rng) * 440;
          det.score = 0.4 * u(rng);
        }
        out->dets.push_back(det);
      }
    }
    return out;
  }();
  return *w;
}

// An octagon inscribed in the box [x, y, w, h].
masks::Rle Octagon(double x, double y, double w, double h) {
  const double a = 0.29;  // corner cut, as a share of the side
  const double xy[16] = {x + a * w,
                         y,
                         x + (1 - a) * w,
                         y,
                         x + w,
                         y + a * h,
                         x + w,
                         y + (1 - a) * h,
                         x + (1 - a) * w,
                         y + h,
                         x + a * w,
                         y + h,
                         x,
                         y + (1 - a) * h,
                         x,
                         y + a * h};
  return masks::RleFromPolygon(xy, 480, 640);
}

const Workload& CocoValSizedWithMasks() {
  static const Workload* w = [] {
    auto* out = new Workload(CocoValSized());
    out->gt.image_sizes.assign(out->gt.image_ids.size(), {480, 640});
    for (GtBox& g : out->gt.boxes) g.mask = Octagon(g.x, g.y, g.w, g.h);
    for (Detection& d : out->dets) d.mask = Octagon(d.x, d.y, d.w, d.h);
    return out;
  }();
  return *w;
}

void BM_EvaluateCocoValSized(benchmark::State& state) {
  const Workload& w = CocoValSized();
  double ap = 0;
  for (auto _ : state) {
    absl::StatusOr<CocoEvalResult> r = EvaluateBoxes(w.gt, w.dets);
    CHECK(r.ok()) << r.status();
    ap = r->stats[0];
  }
  state.counters["images"] = static_cast<double>(w.gt.image_ids.size());
  state.counters["gt_boxes"] = static_cast<double>(w.gt.boxes.size());
  state.counters["detections"] = static_cast<double>(w.dets.size());
  state.counters["AP"] = ap;
}
BENCHMARK(BM_EvaluateCocoValSized)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_EvaluateMasksCocoValSized(benchmark::State& state) {
  const Workload& w = CocoValSizedWithMasks();
  double ap = 0;
  for (auto _ : state) {
    absl::StatusOr<CocoEvalResult> r = EvaluateMasks(w.gt, w.dets);
    CHECK(r.ok()) << r.status();
    ap = r->stats[0];
  }
  uint64_t runs = 0;
  for (const Detection& d : w.dets) runs += d.mask.counts.size();
  state.counters["images"] = static_cast<double>(w.gt.image_ids.size());
  state.counters["gt_boxes"] = static_cast<double>(w.gt.boxes.size());
  state.counters["detections"] = static_cast<double>(w.dets.size());
  state.counters["runs_per_detection_mask"] =
      static_cast<double>(runs) / static_cast<double>(w.dets.size());
  state.counters["AP"] = ap;
}
BENCHMARK(BM_EvaluateMasksCocoValSized)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sniper::evaluation

BENCHMARK_MAIN();
