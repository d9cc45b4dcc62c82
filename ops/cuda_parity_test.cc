// Every op of ops/ on the GPU against the CPU kernels (themselves tested
// against plain definitions in the ops' own tests), on random and
// adversarial inputs: empty tensors, one box, thousands of boxes, the NMS
// tile borders (63/64/65), exact copies, zero-area and far-outside boxes,
// tied scores, RoIs outside the map, a 1x1 feature map, channels-last
// input, every input dtype. Runs where a GPU and a LibTorch with CUDA exist
// (tools/gpu/check.sh runs it, also under compute-sanitizer); skips, saying
// why, elsewhere.
//
// SNIPER_PARITY_MAX_N=N leaves out the cases with more than N boxes or
// RoIs (under compute-sanitizer, which slows kernels by orders of
// magnitude). SNIPER_TEST_DEVICE=cpu makes the CPU the device under test: the
// same inputs and comparisons, CPU against CPU, as a dry run of this harness
// (tools/gpu/check.sh --device=cpu), not a claim about CUDA.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/anchors.h"
#include "ops/box_iou.h"
#include "ops/cuda/runtime.h"
#include "ops/nms.h"
#include "ops/proposal_layer.h"
#include "ops/roi_align.h"
#include "ops/soft_nms.h"
#include "ops/target_assignment.h"
#include "ops/testing/random_inputs.h"

namespace sniper::ops {
namespace {

using ::sniper::testing::RandomBoxes;
using ::sniper::testing::RandomRois;

bool DryRun() {
  const char* d = std::getenv("SNIPER_TEST_DEVICE");
  return d != nullptr && std::string(d) == "cpu";
}

// Cases larger than SNIPER_PARITY_MAX_N are left out (unset: none).
bool TooLarge(int64_t n) {
  const char* v = std::getenv("SNIPER_PARITY_MAX_N");
  return v != nullptr && *v != '\0' && n > std::atoll(v);
}

class CudaParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (DryRun()) {
      device_ = at::Device(at::kCPU);
      return;
    }
    if (!cuda::HasDevice()) GTEST_SKIP() << cuda::WhyNoDevice();
    if (!at::hasCUDA()) {
      GTEST_SKIP() << "LibTorch here has no CUDA (set SNIPER_TORCH_PREFIX "
                      "to a CUDA LibTorch)";
    }
    device_ = at::Device(at::kCUDA, 0);
  }
  at::Tensor On(const at::Tensor& t) const { return t.to(device_); }

  at::Device device_{at::kCPU};
};

std::string Describe(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes() << " " << t.scalar_type() << " " << t.device();
  return s.str();
}

// `got` (any device) equals `want` (CPU) within rtol/atol, same shape and
// dtype; on failure names the largest difference and where it is.
::testing::AssertionResult Close(const at::Tensor& got, const at::Tensor& want,
                                 double rtol, double atol) {
  const at::Tensor g = got.cpu();
  if (g.sizes() != want.sizes() || g.scalar_type() != want.scalar_type()) {
    return ::testing::AssertionFailure()
           << "got " << Describe(got) << ", want " << Describe(want);
  }
  if (want.numel() == 0) return ::testing::AssertionSuccess();
  const at::Tensor gd = g.to(at::kDouble), wd = want.to(at::kDouble);
  if (at::allclose(gd, wd, rtol, atol)) return ::testing::AssertionSuccess();
  const at::Tensor diff = (gd - wd).abs().nan_to_num(1e300).view({-1});
  const int64_t at = diff.argmax().item<int64_t>();
  return ::testing::AssertionFailure()
         << "max |got - want| = " << diff[at].item<double>() << " at flat "
         << at << " (got " << gd.view({-1})[at].item<double>() << ", want "
         << wd.view({-1})[at].item<double>() << "), rtol " << rtol << " atol "
         << atol;
}

std::vector<int64_t> ToVector(const at::Tensor& t) {
  const at::Tensor c = t.cpu().contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(),
                              c.data_ptr<int64_t>() + c.numel());
}

::testing::AssertionResult SameIndices(const at::Tensor& got,
                                       const at::Tensor& want) {
  const std::vector<int64_t> g = ToVector(got), w = ToVector(want);
  if (g == w) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < g.size() && i < w.size() && g[i] == w[i]) ++i;
  auto r = ::testing::AssertionFailure();
  r << "got " << g.size() << " indices, want " << w.size()
    << "; first difference at position " << i;
  if (i < g.size()) r << ": got " << g[i];
  if (i < w.size()) r << ", want " << w[i];
  return r;
}

// The box sets NMS and IoU see: random adversarial ones, n copies of one
// box, n zero-area boxes.
std::vector<std::pair<std::string, at::Tensor>> BoxSets(int64_t n,
                                                        std::mt19937& rng) {
  at::Tensor same = at::tensor({10.0, 20.0, 110.0, 70.0}, at::kDouble)
                        .view({1, 4})
                        .repeat({n, 1});
  at::Tensor flat = RandomBoxes(n, rng);
  flat.select(1, 3).copy_(flat.select(1, 1));  // zero height
  return {
      {"random", RandomBoxes(n, rng)}, {"copies", same}, {"zero_area", flat}};
}

// Continuous scores, scores in 20 tied levels, all equal.
std::vector<std::pair<std::string, at::Tensor>> ScoreSets(int64_t n) {
  return {{"continuous", at::rand({n}, at::kDouble)},
          {"tied", at::floor(at::rand({n}, at::kDouble) * 20) / 20},
          {"equal", at::full({n}, 0.5, at::kDouble)}};
}

TEST_F(CudaParityTest, IouAndIoa) {
  std::mt19937 rng(1);
  const std::vector<std::pair<int64_t, int64_t>> sizes = {
      {0, 0}, {0, 7}, {7, 0}, {1, 1}, {63, 65}, {1000, 700}, {5000, 3}};
  for (const auto& [na, nb] : sizes) {
    if (TooLarge(std::max(na, nb))) continue;
    for (at::ScalarType t : {at::kFloat, at::kDouble}) {
      const double tol = t == at::kFloat ? 1e-5 : 1e-12;
      const at::Tensor a = RandomBoxes(na, rng).to(t);
      const at::Tensor b = RandomBoxes(nb, rng).to(t);
      EXPECT_TRUE(Close(BoxIou(On(a), On(b)), BoxIou(a, b), tol, tol))
          << "IoU " << na << "x" << nb << " " << t;
      EXPECT_TRUE(Close(BoxIoa(On(a), On(b)), BoxIoa(a, b), tol, tol))
          << "IoA " << na << "x" << nb << " " << t;
    }
  }
  // Degenerate against degenerate: zero denominators give 0, never NaN.
  const at::Tensor z = at::zeros({5, 4});
  EXPECT_TRUE(Close(BoxIou(On(z), On(z)), at::zeros({5, 5}), 0, 0));
  EXPECT_TRUE(Close(BoxIoa(On(z), On(z)), at::zeros({5, 5}), 0, 0));
}

TEST_F(CudaParityTest, Nms) {
  std::mt19937 rng(2);
  at::manual_seed(2);
  for (int64_t n : {0, 1, 2, 63, 64, 65, 1000, 12000}) {
    if (TooLarge(n)) continue;
    for (const auto& [box_name, boxes64] : BoxSets(n, rng)) {
      for (const auto& [score_name, scores64] : ScoreSets(n)) {
        for (at::ScalarType t : {at::kFloat, at::kDouble}) {
          const at::Tensor boxes = boxes64.to(t), scores = scores64.to(t);
          for (double threshold : {0.0, 0.5, 0.7, 1.0}) {
            if (n >= 12000 && threshold != 0.5) continue;
            EXPECT_TRUE(SameIndices(Nms(On(boxes), On(scores), threshold),
                                    Nms(boxes, scores, threshold)))
                << "n=" << n << " " << box_name << " " << score_name << " " << t
                << " threshold " << threshold;
          }
        }
      }
    }
  }
}

TEST_F(CudaParityTest, BatchedNms) {
  std::mt19937 rng(3);
  at::manual_seed(3);
  for (int64_t n : {0, 1, 500, 5000}) {
    if (TooLarge(n)) continue;
    const at::Tensor boxes = RandomBoxes(n, rng).to(at::kFloat);
    for (const auto& [score_name, scores64] : ScoreSets(n)) {
      const at::Tensor scores = scores64.to(at::kFloat);
      at::Tensor groups = at::randint(0, 7, {n}, at::kLong);
      if (n > 0) groups[0] = 1000000;  // a sparse, large group id
      EXPECT_TRUE(
          SameIndices(BatchedNms(On(boxes), On(scores), On(groups), 0.5),
                      BatchedNms(boxes, scores, groups, 0.5)))
          << "n=" << n << " " << score_name;
    }
  }
}

TEST_F(CudaParityTest, SoftNms) {
  std::mt19937 rng(4);
  at::manual_seed(4);
  for (int64_t n : {0, 1, 2, 500, 3000}) {
    if (TooLarge(n)) continue;
    const at::Tensor boxes = RandomBoxes(n, rng);
    for (const auto& [score_name, scores] : ScoreSets(n)) {
      for (auto method : {SoftNmsOptions::Method::kGaussian,
                          SoftNmsOptions::Method::kLinear}) {
        SoftNmsOptions o;
        o.method = method;
        const std::string what =
            "n=" + std::to_string(n) + " " + score_name +
            (method == SoftNmsOptions::Method::kLinear ? " linear"
                                                       : " gaussian");
        // float64: the same selections in the same order.
        const auto [ci, cs] = SoftNms(boxes, scores, o);
        const auto [gi, gs] = SoftNms(On(boxes), On(scores), o);
        EXPECT_TRUE(SameIndices(gi, ci)) << what << " float64";
        EXPECT_TRUE(Close(gs, cs, 1e-9, 1e-12)) << what << " float64";
        // float32: rounding may swap near-equal decayed scores, so the same
        // boxes with the same scores, matched by index.
        const at::Tensor b32 = boxes.to(at::kFloat),
                         s32 = scores.to(at::kFloat);
        const auto [ci32, cs32] = SoftNms(b32, s32, o);
        const auto [gi32, gs32] = SoftNms(On(b32), On(s32), o);
        const at::Tensor corder = std::get<1>(ci32.sort());
        const at::Tensor gorder = std::get<1>(gi32.cpu().sort());
        EXPECT_TRUE(SameIndices(gi32.cpu().index_select(0, gorder),
                                ci32.index_select(0, corder)))
            << what << " float32";
        EXPECT_TRUE(Close(gs32.cpu().index_select(0, gorder),
                          cs32.index_select(0, corder), 1e-4, 1e-6))
            << what << " float32";
      }
    }
  }
}

struct RoIAlignCase {
  std::string name;
  std::vector<int64_t> input_shape;  // N, C, H, W
  int64_t rois;
  double image;  // image side the rois are drawn in
  RoIAlignOptions options;
  bool channels_last = false;
};

std::vector<RoIAlignCase> RoIAlignCases() {
  RoIAlignOptions d;  // 7x7, stride 16, 2 samples, aligned
  RoIAlignOptions adaptive = d, unaligned = d, mask = d, stride4 = d;
  adaptive.sampling_ratio = 0;
  unaligned.aligned = false;
  mask.pooled_height = mask.pooled_width = 14;
  stride4.spatial_scale = 0.25;
  return {
      {"default", {4, 64, 32, 32}, 500, 512, d},
      {"adaptive_sampling", {4, 64, 32, 32}, 500, 512, adaptive},
      {"unaligned", {4, 64, 32, 32}, 500, 512, unaligned},
      {"14x14", {2, 32, 32, 32}, 300, 512, mask},
      {"stride_4_thousands", {2, 8, 64, 64}, 3000, 256, stride4},
      {"no_rois", {2, 16, 8, 8}, 0, 128, d},
      {"one_roi", {1, 16, 8, 8}, 1, 128, d},
      {"1x1_map", {2, 3, 1, 1}, 50, 16, d},
      {"channels_last", {2, 32, 16, 24}, 200, 384, d, true},
  };
}

TEST_F(CudaParityTest, RoIAlignForward) {
  std::mt19937 rng(5);
  at::manual_seed(5);
  for (const RoIAlignCase& c : RoIAlignCases()) {
    if (TooLarge(c.rois)) continue;
    at::Tensor input = at::randn(c.input_shape);
    if (c.channels_last)
      input = input.contiguous(at::MemoryFormat::ChannelsLast);
    const double h = c.image * c.input_shape[2] / c.input_shape[3];
    const at::Tensor rois =
        RandomRois(c.rois, c.input_shape[0], h, c.image, rng).to(at::kFloat);
    for (at::ScalarType t :
         {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
      const at::Tensor x = input.to(t);
      const at::Tensor r = t == at::kDouble ? rois.to(at::kDouble) : rois;
      const double tol = t == at::kDouble  ? 1e-10
                         : t == at::kFloat ? 1e-5
                         : t == at::kHalf  ? 5e-3
                                           : 4e-2;
      EXPECT_TRUE(Close(RoIAlign(On(x), On(r), c.options),
                        RoIAlign(x, r, c.options), tol, tol))
          << c.name << " " << t;
    }
  }
}

TEST_F(CudaParityTest, RoIAlignBackward) {
  std::mt19937 rng(6);
  at::manual_seed(6);
  for (const RoIAlignCase& c : RoIAlignCases()) {
    if (TooLarge(c.rois)) continue;
    const double h = c.image * c.input_shape[2] / c.input_shape[3];
    const at::Tensor rois =
        RandomRois(c.rois, c.input_shape[0], h, c.image, rng).to(at::kFloat);
    for (at::ScalarType t : {at::kFloat, at::kDouble, at::kBFloat16}) {
      at::Tensor x = at::randn(c.input_shape).to(t);
      if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      const at::Tensor r = t == at::kDouble ? rois.to(at::kDouble) : rois;
      const at::Tensor g =
          at::randn({c.rois, c.input_shape[1], c.options.pooled_height,
                     c.options.pooled_width})
              .to(t);
      // Atomic accumulation on the GPU sums in another order.
      const double tol = t == at::kDouble  ? 1e-10
                         : t == at::kFloat ? 1e-4
                                           : 5e-2;
      at::Tensor xc = x.clone().requires_grad_(true);
      at::Tensor xg = On(x).requires_grad_(true);
      (RoIAlign(xc, r, c.options) * g).sum().backward();
      (RoIAlign(xg, On(r), c.options) * On(g)).sum().backward();
      EXPECT_TRUE(Close(xg.grad(), xc.grad(), tol, tol)) << c.name << " " << t;
    }
  }
}

TEST_F(CudaParityTest, ProposalLayer) {
  at::manual_seed(7);
  AnchorOptions ao;
  const int64_t a = ao.num_anchors();
  struct Case {
    std::string name;
    int64_t batch, h, w;
    std::vector<float> sizes;  // (height, width) per chip
    int64_t pre, post;
    double min_size;
  };
  const std::vector<Case> cases = {
      {"two_chips", 2, 32, 32, {512, 512, 300, 200}, 6000, 300, 0},
      {"more_asked_than_anchors", 1, 4, 4, {64, 64}, 6000, 5000, 0},
      {"min_size_drops_all", 1, 8, 8, {128, 128}, 500, 50, 1e6},
      {"one_pixel_chip", 2, 8, 8, {1, 1, 128, 128}, 500, 50, 0},
  };
  for (const Case& c : cases) {
    const at::Tensor anchors = GridAnchors(ao, c.h, c.w);
    const at::Tensor scores = at::randn({c.batch, a, c.h, c.w});
    const at::Tensor deltas = at::randn({c.batch, 4 * a, c.h, c.w}) * 0.2;
    const at::Tensor sizes = at::tensor(c.sizes).view({c.batch, 2});
    ProposalOptions o;
    o.pre_nms_top_n = c.pre;
    o.post_nms_top_n = c.post;
    o.min_size = c.min_size;
    const auto [cr, cs] = GenerateProposals(scores, deltas, anchors, sizes, o);
    const auto [gr, gs] =
        GenerateProposals(On(scores), On(deltas), On(anchors), On(sizes), o);
    EXPECT_TRUE(Close(gr, cr, 1e-5, 1e-3)) << c.name;
    EXPECT_TRUE(Close(gs, cs, 1e-6, 1e-6)) << c.name;
  }
}

TEST_F(CudaParityTest, TargetAssignment) {
  std::mt19937 rng(8);
  at::manual_seed(8);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t g = trial % 3 == 0 ? 0 : 1 + trial * 7;
    const int64_t ig = trial % 2 == 0 ? 0 : 3;
    const at::Tensor anchors = RandomBoxes(4000, rng).to(at::kFloat);
    const at::Tensor gt = RandomBoxes(g, rng).to(at::kFloat);
    const at::Tensor ignore = RandomBoxes(ig, rng).to(at::kFloat);
    RpnTargetOptions ro;
    const RpnTargets c =
        AssignRpnTargets(anchors, gt, ignore, 800, 1200, ro, trial);
    const RpnTargets d =
        AssignRpnTargets(On(anchors), On(gt), On(ignore), 800, 1200, ro, trial);
    EXPECT_TRUE(SameIndices(d.labels, c.labels)) << "rpn trial " << trial;
    EXPECT_TRUE(Close(d.deltas, c.deltas, 1e-4, 1e-5)) << "rpn trial " << trial;
    EXPECT_TRUE(Close(d.weights, c.weights, 0, 0)) << "rpn trial " << trial;

    const at::Tensor proposals = RandomBoxes(300, rng).to(at::kFloat);
    const at::Tensor labels = at::randint(0, 5, {g}, at::kLong);
    for (int64_t batch : {-1, 64}) {
      RcnnTargetOptions co;
      co.batch_size = batch;
      const RcnnTargets cc =
          AssignRcnnTargets(proposals, gt, labels, ignore, co, trial);
      const RcnnTargets dd = AssignRcnnTargets(
          On(proposals), On(gt), On(labels), On(ignore), co, trial);
      const std::string what = "rcnn trial " + std::to_string(trial) +
                               " batch " + std::to_string(batch);
      EXPECT_TRUE(SameIndices(dd.labels, cc.labels)) << what;
      EXPECT_TRUE(Close(dd.rois, cc.rois, 0, 0)) << what;
      EXPECT_TRUE(Close(dd.deltas, cc.deltas, 1e-4, 1e-5)) << what;
    }
  }
}

}  // namespace
}  // namespace sniper::ops
