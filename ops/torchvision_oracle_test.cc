// Our NMS and RoIAlign against torchvision's kernels (an independent
// implementation) on random inputs. Skips when python3-torchvision is not
// installed.
#include <random>

#include "gtest/gtest.h"
#include "ops/nms.h"
#include "ops/roi_align.h"
#include "ops/testing/torchvision_ops.h"

namespace sniper::ops {
namespace {

const sniper::testing::TorchvisionOps* Torchvision() {
  std::string why;
  const auto* tv = sniper::testing::LoadTorchvision(&why);
  if (tv == nullptr) std::cout << why << "\n";
  return tv;
}

at::Tensor RandomBoxes(int64_t n, float extent) {
  at::Tensor xy = at::rand({n, 2}) * extent - 20;
  at::Tensor wh = at::rand({n, 2}) * extent * 0.4f;
  return at::cat({xy, xy + wh}, 1);
}

TEST(TorchvisionOracleTest, NmsAgrees) {
  const auto* tv = Torchvision();
  if (tv == nullptr) GTEST_SKIP() << "torchvision unavailable";
  at::manual_seed(1);
  for (int64_t n : {5, 100, 1000, 5000}) {
    for (double thr : {0.3, 0.5, 0.7}) {
      const at::Tensor boxes = RandomBoxes(n, 600);
      // Distinct scores: torchvision's sort is not stable on ties.
      const at::Tensor scores = at::randperm(n).to(at::kFloat);
      const at::Tensor ours = Nms(boxes, scores, thr);
      const at::Tensor theirs = tv->nms.call(boxes, scores, thr);
      ASSERT_TRUE(at::equal(ours, theirs)) << "n=" << n << " thr=" << thr;
    }
  }
}

TEST(TorchvisionOracleTest, RoIAlignForwardAndBackwardAgree) {
  const auto* tv = Torchvision();
  if (tv == nullptr) GTEST_SKIP() << "torchvision unavailable";
  at::manual_seed(2);
  const at::Tensor input = at::randn({2, 16, 24, 30});
  at::Tensor rois = at::cat(
      {at::randint(0, 2, {300, 1}).to(at::kFloat), RandomBoxes(300, 480)}, 1);
  for (bool aligned : {true, false}) {
    for (int64_t sr : {0, 2}) {
      RoIAlignOptions o;
      o.spatial_scale = 1.0 / 16;
      o.sampling_ratio = sr;
      o.aligned = aligned;
      const at::Tensor ours = detail::RoIAlignForward(input, rois, o);
      const at::Tensor theirs =
          tv->roi_align.call(input, rois, o.spatial_scale, 7, 7, sr, aligned);
      ASSERT_TRUE(at::allclose(ours, theirs, 1e-5, 1e-6))
          << "aligned=" << aligned << " sr=" << sr << " max diff "
          << (ours - theirs).abs().max().item<float>();
      const at::Tensor grad = at::randn_like(ours);
      const at::Tensor gi_ours =
          detail::RoIAlignBackward(grad, rois, o, input.sizes(), at::kFloat);
      const at::Tensor gi_theirs = tv->roi_align_backward.call(
          grad, rois, o.spatial_scale, 7, 7, 2, 16, 24, 30, sr, aligned);
      ASSERT_TRUE(at::allclose(gi_ours, gi_theirs, 1e-4, 1e-5))
          << (gi_ours - gi_theirs).abs().max().item<float>();
    }
  }
}

}  // namespace
}  // namespace sniper::ops
