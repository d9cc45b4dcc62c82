#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/box_iou.h"
#include "ops/nms.h"
#include "ops/non_finite.h"
#include "ops/soft_nms.h"
#include "ops/testing/errors.h"
#include "ops/testing/random_inputs.h"

namespace sniper::ops {
namespace {

using ::testing::HasSubstr;

// Obviously-correct references: plain loops over accessors.
double RefOverlap(const at::Tensor& a, int64_t i, const at::Tensor& b,
                  int64_t j, bool ioa) {
  auto A = a.accessor<double, 2>();
  auto B = b.accessor<double, 2>();
  const double w =
      std::max(0.0, std::min(A[i][2], B[j][2]) - std::max(A[i][0], B[j][0]));
  const double h =
      std::max(0.0, std::min(A[i][3], B[j][3]) - std::max(A[i][1], B[j][1]));
  const double area_a =
      std::max(0.0, A[i][2] - A[i][0]) * std::max(0.0, A[i][3] - A[i][1]);
  const double area_b =
      std::max(0.0, B[j][2] - B[j][0]) * std::max(0.0, B[j][3] - B[j][1]);
  const double denom = ioa ? area_b : area_a + area_b - w * h;
  return denom > 0 ? w * h / denom : 0.0;
}

std::vector<int64_t> RefNms(const at::Tensor& boxes, const at::Tensor& scores,
                            double threshold) {
  const int64_t n = boxes.size(0);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto S = scores.accessor<double, 1>();
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return S[x] > S[y]; });
  std::vector<bool> removed(n, false);
  std::vector<int64_t> keep;
  for (int64_t a = 0; a < n; ++a) {
    if (removed[a]) continue;
    keep.push_back(order[a]);
    for (int64_t b = a + 1; b < n; ++b) {
      if (RefOverlap(boxes, order[a], boxes, order[b], false) > threshold) {
        removed[b] = true;
      }
    }
  }
  return keep;
}

using ::sniper::testing::RandomBoxes;

std::vector<int64_t> ToVector(const at::Tensor& t) {
  const at::Tensor c = t.cpu().contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(),
                              c.data_ptr<int64_t>() + c.numel());
}

TEST(BoxIouTest, MatchesReferenceLoops) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 5; ++trial) {
    const at::Tensor a = RandomBoxes(37 + trial * 50, rng);
    const at::Tensor b = RandomBoxes(23 + trial * 31, rng);
    for (bool ioa : {false, true}) {
      const at::Tensor got = ioa ? BoxIoa(a, b) : BoxIou(a, b);
      const at::Tensor got32 = ioa ? BoxIoa(a.to(at::kFloat), b.to(at::kFloat))
                                   : BoxIou(a.to(at::kFloat), b.to(at::kFloat));
      ASSERT_EQ(got.sizes(), (std::vector<int64_t>{a.size(0), b.size(0)}));
      auto G = got.accessor<double, 2>();
      auto G32 = got32.accessor<float, 2>();
      for (int64_t i = 0; i < a.size(0); ++i) {
        for (int64_t j = 0; j < b.size(0); ++j) {
          const double want = RefOverlap(a, i, b, j, ioa);
          ASSERT_NEAR(G[i][j], want, 1e-12) << i << "," << j;
          ASSERT_NEAR(G32[i][j], want, 1e-4) << i << "," << j;
        }
      }
    }
  }
}

TEST(BoxIouTest, HandWorkedValues) {
  const at::Tensor a =
      at::tensor({0.0, 0.0, 10.0, 10.0}, at::kDouble).view({1, 4});
  const at::Tensor b =
      at::tensor({5.0, 0.0, 15.0, 10.0, 0.0,  0.0,  10.0, 10.0, 2.0, 2.0,
                  4.0, 4.0, 20.0, 20.0, 30.0, 30.0, 3.0,  3.0,  3.0, 8.0},
                 at::kDouble)
          .view({5, 4});
  const at::Tensor iou = BoxIou(a, b);
  EXPECT_DOUBLE_EQ(iou[0][0].item<double>(), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(iou[0][1].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(iou[0][2].item<double>(), 4.0 / 100.0);
  EXPECT_DOUBLE_EQ(iou[0][3].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(iou[0][4].item<double>(), 0.0);  // zero-area box
  const at::Tensor ioa = BoxIoa(a, b);
  EXPECT_DOUBLE_EQ(ioa[0][0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(ioa[0][2].item<double>(), 1.0);  // b inside a
  EXPECT_DOUBLE_EQ(ioa[0][4].item<double>(), 0.0);  // empty b: 0, not NaN
}

TEST(BoxIouTest, EmptyInputsGiveEmptyOutputs) {
  const at::Tensor none = at::empty({0, 4});
  const at::Tensor some = at::rand({3, 4});
  EXPECT_EQ(BoxIou(none, some).sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(BoxIoa(some, none).sizes(), (std::vector<int64_t>{3, 0}));
}

TEST(BoxIouTest, RejectsBadInputsSayingWhatWasReceived) {
  const auto& message = ::sniper::testing::ErrorOf;
  EXPECT_THAT(message([] {
                BoxIou(at::rand({3, 5}), at::rand({2, 4}));
              }),
              HasSubstr("BoxIou: a must have shape [N, 4], got [3, 5]"));
  EXPECT_THAT(message([] {
                BoxIou(at::rand({3, 4}), at::ones({2, 4}, at::kInt));
              }),
              HasSubstr("b must be float32 or float64, got Int"));
  EXPECT_THAT(message([] {
                BoxIoa(at::rand({3, 4}), at::rand({2, 4}, at::kDouble));
              }),
              HasSubstr("a is Float but b is Double"));
  at::Tensor nan = at::rand({2, 4});
  nan[1][2] = std::nan("");
  EXPECT_THAT(message([&] {
                BoxIou(nan, at::rand({2, 4}));
              }),
              HasSubstr("a has non-finite coordinates"));
  // Typed, so that a trainer tells a diverged step from a bug.
  EXPECT_THROW(BoxIou(nan, at::rand({2, 4})), NonFiniteInputError);
  EXPECT_THAT(message([] {
                Nms(at::rand({3, 4}), at::rand({2}), 0.5);
              }),
              HasSubstr("Nms: scores must have shape [3], got [2]"));
  at::Tensor nan_scores = at::rand({3});
  nan_scores[0] = std::nan("");
  EXPECT_THAT(message([&] {
                Nms(at::rand({3, 4}), nan_scores, 0.5);
              }),
              HasSubstr("scores contain NaN"));
  EXPECT_THAT(message([] {
                BatchedNms(at::rand({3, 4}), at::rand({3}),
                           at::zeros({3}, at::kInt), 0.5);
              }),
              HasSubstr("groups must be int64 with shape [3]"));
}

TEST(NmsTest, MatchesReferenceOnRandomAndAdversarialInputs) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t n : {1, 2, 17, 300, 2000}) {
    const at::Tensor boxes = RandomBoxes(n, rng);
    at::Tensor scores = at::empty({n}, at::kDouble);
    auto S = scores.accessor<double, 1>();
    // Quantized scores: many exact ties (order must stay stable).
    for (int64_t i = 0; i < n; ++i) S[i] = std::floor(u(rng) * 20) / 20;
    for (double thr : {0.0, 0.3, 0.5, 0.7, 1.0}) {
      const std::vector<int64_t> want = RefNms(boxes, scores, thr);
      EXPECT_EQ(ToVector(Nms(boxes, scores, thr)), want)
          << "n=" << n << " thr=" << thr;
      EXPECT_EQ(ToVector(Nms(boxes.to(at::kFloat), scores.to(at::kFloat), thr)),
                want)
          << "float32 n=" << n << " thr=" << thr;
    }
  }
}

TEST(NmsTest, IdenticalAndZeroAreaBoxes) {
  // 50 identical boxes keep exactly the best one; zero-area boxes never
  // suppress or get suppressed (IoU 0).
  at::Tensor same = at::tensor({1.0f, 2.0f, 30.0f, 40.0f}).repeat({50, 1});
  at::Tensor scores = at::arange(50, at::kFloat);
  EXPECT_EQ(ToVector(Nms(same, scores, 0.5)), (std::vector<int64_t>{49}));
  at::Tensor flat = at::tensor({5.0f, 5.0f, 5.0f, 9.0f}).repeat({4, 1});
  EXPECT_EQ(ToVector(Nms(flat, at::ones({4}), 0.5)).size(), 4u);
  EXPECT_EQ(Nms(at::empty({0, 4}), at::empty({0}), 0.5).numel(), 0);
}

TEST(NmsTest, BatchedNmsEqualsPerGroupNms) {
  std::mt19937 rng(3);
  const int64_t n = 600;
  const at::Tensor boxes = RandomBoxes(n, rng);
  const at::Tensor scores = at::rand({n}, at::kDouble);
  const at::Tensor groups = at::randint(0, 5, {n}, at::kLong);
  std::vector<int64_t> want;
  for (int64_t g = 0; g < 5; ++g) {
    const at::Tensor idx = (groups == g).nonzero().view(-1);
    for (int64_t k : ToVector(Nms(boxes.index_select(0, idx),
                                  scores.index_select(0, idx), 0.5))) {
      want.push_back(idx[k].item<int64_t>());
    }
  }
  std::sort(want.begin(), want.end(), [&](int64_t a, int64_t b) {
    return scores[a].item<double>() > scores[b].item<double>();
  });
  EXPECT_EQ(ToVector(BatchedNms(boxes, scores, groups, 0.5)), want);
}

}  // namespace
}  // namespace sniper::ops

namespace sniper::ops {
namespace {

// Soft-NMS written from the paper: O(N^2) with plain vectors.
std::pair<std::vector<int64_t>, std::vector<double>> RefSoftNms(
    const at::Tensor& boxes, const at::Tensor& scores,
    const SoftNmsOptions& o) {
  const int64_t n = boxes.size(0);
  std::vector<double> s(scores.data_ptr<double>(),
                        scores.data_ptr<double>() + n);
  std::vector<bool> alive(n);
  for (int64_t i = 0; i < n; ++i) alive[i] = s[i] >= o.score_threshold;
  std::vector<int64_t> keep;
  std::vector<double> kept;
  while (true) {
    int64_t m = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (alive[i] && (m < 0 || s[i] > s[m])) m = i;  // first on ties
    }
    if (m < 0) break;
    keep.push_back(m);
    kept.push_back(s[m]);
    alive[m] = false;
    for (int64_t j = 0; j < n; ++j) {
      if (!alive[j]) continue;
      const double iou = RefOverlap(boxes, m, boxes, j, false);
      s[j] *= o.method == SoftNmsOptions::Method::kGaussian
                  ? std::exp(-iou * iou / o.sigma)
                  : (iou > o.iou_threshold ? 1 - iou : 1.0);
      if (!(s[j] >= o.score_threshold)) alive[j] = false;
    }
  }
  return {keep, kept};
}

TEST(SoftNmsTest, HandWorkedGaussian) {
  // Two boxes with IoU 1/3 (half-overlapping squares): the second decays by
  // exp(-(1/3)^2 / 0.55).
  const at::Tensor boxes =
      at::tensor({0.0, 0.0, 10.0, 10.0, 5.0, 0.0, 15.0, 10.0}).view({2, 4});
  const at::Tensor scores = at::tensor({0.9, 0.8});
  const auto [idx, sc] = SoftNms(boxes, scores);
  ASSERT_EQ(idx.numel(), 2);
  EXPECT_EQ(idx[0].item<int64_t>(), 0);
  EXPECT_NEAR(sc[1].item<double>(), 0.8 * std::exp(-1.0 / 9 / 0.55), 1e-12);
  SoftNmsOptions linear;
  linear.method = SoftNmsOptions::Method::kLinear;
  const auto [idx2, sc2] = SoftNms(boxes, scores, linear);
  EXPECT_NEAR(sc2[1].item<double>(), 0.8 * (1 - 1.0 / 3), 1e-12);
}

TEST(SoftNmsTest, MatchesPaperReference) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t n : {1, 10, 200, 800}) {
    const at::Tensor boxes = RandomBoxes(n, rng);
    at::Tensor scores = at::empty({n}, at::kDouble);
    for (int64_t i = 0; i < n; ++i) scores[i] = std::floor(u(rng) * 50) / 50;
    for (auto method :
         {SoftNmsOptions::Method::kGaussian, SoftNmsOptions::Method::kLinear}) {
      SoftNmsOptions o;
      o.method = method;
      o.score_threshold = 0.01;
      const auto [want_idx, want_sc] = RefSoftNms(boxes, scores, o);
      const auto [idx, sc] = SoftNms(boxes, scores, o);
      ASSERT_EQ(ToVector(idx), want_idx) << n;
      for (size_t k = 0; k < want_sc.size(); ++k) {
        ASSERT_NEAR(sc[k].item<double>(), want_sc[k], 1e-9);
      }
      const auto [idx32, sc32] =
          SoftNms(boxes.to(at::kFloat), scores.to(at::kFloat), o);
      EXPECT_GE(idx32.numel(), 1);
    }
  }
  const auto [e, es] = SoftNms(at::empty({0, 4}), at::empty({0}));
  EXPECT_EQ(e.numel(), 0);
}

}  // namespace
}  // namespace sniper::ops
