#include "ops/target_assignment.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/box_iou.h"

namespace sniper::ops {
namespace {

at::Tensor Boxes(std::initializer_list<double> v) {
  return at::tensor(std::vector<double>(v), at::kDouble).view({-1, 4});
}

at::Tensor RandomBoxes(int64_t n, double extent, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  at::Tensor b = at::empty({n, 4}, at::kDouble);
  auto B = b.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const double w = 8 + u(rng) * 200, h = 8 + u(rng) * 200;
    const double x = -40 + u(rng) * extent, y = -40 + u(rng) * extent;
    B[i][0] = x;
    B[i][1] = y;
    B[i][2] = x + w;
    B[i][3] = y + h;
  }
  return b;
}

// Labels from the rules in SNIPER.md section 5, written as loops.
std::vector<int64_t> RefRpnLabels(const at::Tensor& anchors,
                                  const at::Tensor& gt,
                                  const at::Tensor& ignore, double ch,
                                  double cw, const RpnTargetOptions& o) {
  const int64_t a = anchors.size(0), g = gt.size(0);
  const at::Tensor iou =
      g > 0 ? BoxIou(anchors, gt) : at::zeros({a, 0}, at::kDouble);
  auto I = iou.accessor<double, 2>();
  auto A = anchors.accessor<double, 2>();
  std::vector<bool> inside(a);
  for (int64_t i = 0; i < a; ++i) {
    const double b = o.allowed_border;
    inside[i] = A[i][0] >= -b && A[i][1] >= -b && A[i][2] <= cw + b &&
                A[i][3] <= ch + b;
  }
  std::vector<double> gt_best(g, -1);
  for (int64_t j = 0; j < g; ++j) {
    for (int64_t i = 0; i < a; ++i) {
      if (inside[i]) gt_best[j] = std::max(gt_best[j], I[i][j]);
    }
  }
  std::vector<int64_t> labels(a, -1);
  for (int64_t i = 0; i < a; ++i) {
    if (!inside[i]) continue;
    double best = 0;
    bool is_best = false;
    for (int64_t j = 0; j < g; ++j) {
      best = std::max(best, I[i][j]);
      is_best = is_best || (gt_best[j] > 0 && I[i][j] == gt_best[j]);
    }
    if (best < o.negative_iou) labels[i] = 0;
    if (g > 0 && (best >= o.positive_iou || is_best)) labels[i] = 1;
  }
  if (ignore.size(0) > 0) {
    const at::Tensor ign = BoxIou(anchors, ignore);
    auto G = ign.accessor<double, 2>();
    for (int64_t i = 0; i < a; ++i) {
      for (int64_t j = 0; j < ignore.size(0); ++j) {
        if (G[i][j] > o.ignore_iou) labels[i] = -1;
      }
    }
  }
  return labels;
}

std::vector<int64_t> ToVector(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(RpnTargetsTest, LabelsFollowTheRulesWithoutSampling) {
  std::mt19937 rng(1);
  RpnTargetOptions o;
  o.batch_size = 1 << 20;  // no sampling
  o.positive_fraction = 1.0;
  for (int trial = 0; trial < 10; ++trial) {
    const at::Tensor anchors = RandomBoxes(400, 600, rng);
    const at::Tensor gt = RandomBoxes(trial % 4 == 0 ? 0 : 6, 500, rng);
    const at::Tensor ignore = RandomBoxes(trial % 2 == 0 ? 0 : 3, 500, rng);
    const RpnTargets t = AssignRpnTargets(anchors, gt, ignore, 512, 512, o, 7);
    EXPECT_EQ(ToVector(t.labels),
              RefRpnLabels(anchors, gt, ignore, 512, 512, o))
        << trial;
    // Regression targets exactly for positives.
    const at::Tensor pos = t.labels == 1;
    EXPECT_TRUE(at::equal(t.weights.select(1, 0) == 1, pos));
    EXPECT_TRUE((t.deltas.masked_select(~pos.unsqueeze(1).expand({-1, 4})) == 0)
                    .all()
                    .item<bool>());
  }
}

TEST(RpnTargetsTest, IgnoreOverridesPositiveAndBorderExcludes) {
  RpnTargetOptions o;
  const at::Tensor anchors = Boxes({0, 0, 100, 100,        // matches gt
                                    200, 200, 300, 300,    // inside ignore
                                    -100, -100, -10, -10,  // beyond border
                                    400, 400, 450, 450});  // background
  const at::Tensor gt = Boxes({0, 0, 100, 110});
  const at::Tensor ignore = Boxes({0, 0, 100, 100, 210, 210, 300, 300});
  const RpnTargets t = AssignRpnTargets(anchors, gt, ignore, 512, 512, o, 1);
  EXPECT_EQ(ToVector(t.labels), (std::vector<int64_t>{-1, -1, -1, 0}));
  const RpnTargets t2 =
      AssignRpnTargets(anchors, gt, Boxes({}).view({0, 4}), 512, 512, o, 1);
  EXPECT_EQ(ToVector(t2.labels), (std::vector<int64_t>{1, 0, -1, 0}));
  // The positive's target: centre (50, 50) -> (50, 55), size 100 -> 110.
  EXPECT_NEAR(t2.deltas[0][1].item<double>(), 0.05, 1e-12);
  EXPECT_NEAR(t2.deltas[0][3].item<double>(), std::log(1.1), 1e-12);
}

TEST(RpnTargetsTest, SamplingCapsAndIsDeterministic) {
  std::mt19937 rng(3);
  const at::Tensor anchors = RandomBoxes(3000, 500, rng);
  const at::Tensor gt = RandomBoxes(40, 450, rng);
  RpnTargetOptions o;  // 256, half positive
  const RpnTargets a = AssignRpnTargets(
      anchors, gt, at::empty({0, 4}, at::kDouble), 512, 512, o, 11);
  const RpnTargets b = AssignRpnTargets(
      anchors, gt, at::empty({0, 4}, at::kDouble), 512, 512, o, 11);
  const RpnTargets c = AssignRpnTargets(
      anchors, gt, at::empty({0, 4}, at::kDouble), 512, 512, o, 12);
  const int64_t pos = (a.labels == 1).sum().item<int64_t>();
  const int64_t neg = (a.labels == 0).sum().item<int64_t>();
  EXPECT_LE(pos, 128);
  EXPECT_GT(pos, 0);
  EXPECT_EQ(pos + neg, 256);
  EXPECT_TRUE(at::equal(a.labels, b.labels));
  EXPECT_FALSE(at::equal(a.labels, c.labels));
  // Sampling only turns labels into -1, never flips 0 <-> 1.
  RpnTargetOptions all = o;
  all.batch_size = 1 << 20;
  all.positive_fraction = 1.0;
  const RpnTargets full = AssignRpnTargets(
      anchors, gt, at::empty({0, 4}, at::kDouble), 512, 512, all, 11);
  const at::Tensor kept = a.labels >= 0;
  EXPECT_TRUE(
      at::equal(a.labels.masked_select(kept), full.labels.masked_select(kept)));
}

TEST(RcnnTargetsTest, HandWorkedLabels) {
  RcnnTargetOptions o;
  const at::Tensor gt = Boxes({0, 0, 100, 100, 200, 0, 300, 100});
  const at::Tensor gt_labels = at::tensor({3, 7}, at::kLong);
  const at::Tensor ignore = Boxes({400, 400, 500, 500});
  const at::Tensor proposals = Boxes({0,   0,   100, 90,     // fg, gt 0
                                      210, 0,   300, 100,    // fg, gt 1
                                      0,   0,   100, 300,    // bg (IoU 1/3)
                                      400, 400, 500, 490,    // ignore: left out
                                      600, 600, 700, 700});  // bg (IoU 0)
  const RcnnTargets t =
      AssignRcnnTargets(proposals, gt, gt_labels, ignore, o, 0);
  // 4 kept proposals + the 2 GT added as candidates.
  ASSERT_EQ(t.rois.size(0), 6);
  EXPECT_EQ(ToVector(t.labels), (std::vector<int64_t>{4, 8, 0, 0, 4, 8}));
  // The GT each foreground RoI learns from (its mask target's source).
  EXPECT_EQ(ToVector(t.gt_index), (std::vector<int64_t>{0, 1, -1, -1, 0, 1}));
  EXPECT_TRUE(at::equal(t.rois[3], proposals[4]));
  EXPECT_NEAR(t.deltas[0][3].item<double>(), 5 * std::log(100.0 / 90), 1e-12);
  EXPECT_TRUE(
      at::equal(t.deltas[4], at::zeros({4}, at::kDouble)));  // GT itself
  // Without GT: everything not ignored is background.
  const RcnnTargets none =
      AssignRcnnTargets(proposals, at::empty({0, 4}, at::kDouble),
                        at::empty({0}, at::kLong), ignore, o, 0);
  EXPECT_EQ(ToVector(none.labels), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(RcnnTargetsTest, SamplingRespectsFractions) {
  std::mt19937 rng(9);
  const at::Tensor gt = RandomBoxes(10, 400, rng);
  const at::Tensor proposals = at::cat(
      {RandomBoxes(300, 500, rng), gt + at::randn({10, 4}, at::kDouble) * 2,
       gt + at::randn({10, 4}, at::kDouble) * 3},
      0);
  RcnnTargetOptions o;
  o.batch_size = 64;
  o.fg_fraction = 0.25;
  const RcnnTargets t =
      AssignRcnnTargets(proposals, gt, at::randint(0, 5, {10}, at::kLong),
                        at::empty({0, 4}, at::kDouble), o, 5);
  const int64_t fg = (t.labels > 0).sum().item<int64_t>();
  EXPECT_LE(fg, 16);
  EXPECT_GT(fg, 0);
  EXPECT_EQ(t.rois.size(0), 64);
  // Every foreground roi really overlaps its GT >= 0.5.
  const at::Tensor fg_rois =
      t.rois.index_select(0, (t.labels > 0).nonzero().view(-1));
  EXPECT_TRUE(
      (std::get<0>(BoxIou(fg_rois, gt).max(1)) >= 0.5).all().item<bool>());
}

}  // namespace
}  // namespace sniper::ops
