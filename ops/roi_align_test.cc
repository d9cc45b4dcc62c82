#include "ops/roi_align.h"

#include <torch/autograd.h>

#include <cmath>
#include <functional>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/non_finite.h"
#include "ops/testing/errors.h"
#include "ops/testing/random_inputs.h"

namespace sniper::ops {
namespace {

using ::testing::HasSubstr;

// The definition, written plainly: every output is the mean of
// grid_h x grid_w bilinear samples in its bin.
double RefSample(const at::TensorAccessor<double, 2>& plane, int64_t h,
                 int64_t w, double y, double x) {
  if (y < -1.0 || y > h || x < -1.0 || x > w) return 0.0;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y0 = static_cast<int64_t>(std::floor(y));
  int64_t x0 = static_cast<int64_t>(std::floor(x));
  int64_t y1 = y0 + 1, x1 = x0 + 1;
  if (y0 >= h - 1) y0 = y1 = h - 1, y = static_cast<double>(y0);
  if (x0 >= w - 1) x0 = x1 = w - 1, x = static_cast<double>(x0);
  const double ly = y - y0, lx = x - x0;
  return (1 - ly) * (1 - lx) * plane[y0][x0] + (1 - ly) * lx * plane[y0][x1] +
         ly * (1 - lx) * plane[y1][x0] + ly * lx * plane[y1][x1];
}

at::Tensor RefRoIAlign(const at::Tensor& input, const at::Tensor& rois,
                       const RoIAlignOptions& o) {
  const int64_t c = input.size(1), h = input.size(2), w = input.size(3);
  at::Tensor out = at::zeros({rois.size(0), c, o.pooled_height, o.pooled_width},
                             at::kDouble);
  auto R = rois.accessor<double, 2>();
  auto I = input.accessor<double, 4>();
  auto O = out.accessor<double, 4>();
  for (int64_t k = 0; k < rois.size(0); ++k) {
    const double off = o.aligned ? 0.5 : 0.0;
    const double x1 = R[k][1] * o.spatial_scale - off;
    const double y1 = R[k][2] * o.spatial_scale - off;
    double rw = R[k][3] * o.spatial_scale - off - x1;
    double rh = R[k][4] * o.spatial_scale - off - y1;
    if (!o.aligned) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bw = rw / o.pooled_width, bh = rh / o.pooled_height;
    const int64_t gh = std::max<int64_t>(
        1, o.sampling_ratio > 0
               ? o.sampling_ratio
               : static_cast<int64_t>(std::ceil(rh / o.pooled_height)));
    const int64_t gw = std::max<int64_t>(
        1, o.sampling_ratio > 0
               ? o.sampling_ratio
               : static_cast<int64_t>(std::ceil(rw / o.pooled_width)));
    const int64_t b = static_cast<int64_t>(R[k][0]);
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t ph = 0; ph < o.pooled_height; ++ph) {
        for (int64_t pw = 0; pw < o.pooled_width; ++pw) {
          double sum = 0;
          for (int64_t iy = 0; iy < gh; ++iy) {
            for (int64_t ix = 0; ix < gw; ++ix) {
              sum +=
                  RefSample(I[b][ch], h, w, y1 + ph * bh + (iy + 0.5) * bh / gh,
                            x1 + pw * bw + (ix + 0.5) * bw / gw);
            }
          }
          O[k][ch][ph][pw] = sum / (gh * gw);
        }
      }
    }
  }
  return out;
}

using ::sniper::testing::ErrorOf;
using ::sniper::testing::RandomRois;

TEST(RoIAlignTest, ForwardMatchesDefinition) {
  std::mt19937 rng(2);
  at::manual_seed(2);
  const at::Tensor input = at::randn({2, 3, 13, 17}, at::kDouble);
  for (bool aligned : {true, false}) {
    for (int64_t sr : {0, 1, 2}) {
      RoIAlignOptions o;
      o.pooled_height = 3;
      o.pooled_width = 4;
      o.spatial_scale = 0.25;
      o.sampling_ratio = sr;
      o.aligned = aligned;
      const at::Tensor rois = RandomRois(40, 2, 52, 68, rng);
      const at::Tensor want = RefRoIAlign(input, rois, o);
      const at::Tensor got = RoIAlign(input, rois, o);
      ASSERT_TRUE(at::allclose(got, want, 1e-12, 1e-12))
          << "aligned=" << aligned << " sr=" << sr << " max diff "
          << (got - want).abs().max().item<double>();
      // float32 input with float32 rois.
      const at::Tensor got32 =
          RoIAlign(input.to(at::kFloat), rois.to(at::kFloat), o);
      ASSERT_TRUE(at::allclose(got32.to(at::kDouble), want, 1e-4, 1e-4));
    }
  }
}

TEST(RoIAlignTest, HalfAndBFloat16AccumulateInFloat) {
  std::mt19937 rng(4);
  at::manual_seed(4);
  const at::Tensor input = at::randn({1, 8, 20, 20});
  const at::Tensor rois = RandomRois(30, 1, 80, 80, rng).to(at::kFloat);
  RoIAlignOptions o;
  o.spatial_scale = 0.25;
  const at::Tensor ref = RoIAlign(input, rois, o);
  for (at::ScalarType t : {at::kHalf, at::kBFloat16}) {
    const at::Tensor got = RoIAlign(input.to(t), rois, o);
    EXPECT_EQ(got.scalar_type(), t);
    // Error of the inputs' rounding (bf16: 8 bits of mantissa), not of a
    // half-precision accumulator.
    const double tol = t == at::kHalf ? 5e-3 : 4e-2;
    EXPECT_TRUE(at::allclose(got.to(at::kFloat), ref, tol, tol)) << t;
  }
}

TEST(RoIAlignTest, ChannelsLastMapsGiveTheSameOutputs) {
  // The CPU kernel reads a channels-last map in place; it sums the same
  // taps in the same order as on NCHW, so the outputs are identical, for
  // every dtype, sampling mode and the rois that yield zeros.
  std::mt19937 rng(10);
  at::manual_seed(10);
  const at::Tensor input = at::randn({3, 24, 13, 17}, at::kDouble);
  at::Tensor rois = RandomRois(60, 3, 52, 68, rng);
  rois[7][1] = -500;  // a roi wholly outside the map: all samples 0
  rois[7][3] = -400;
  for (int64_t sr : {0, 2}) {
    RoIAlignOptions o;
    o.spatial_scale = 0.25;
    o.sampling_ratio = sr;
    for (at::ScalarType t :
         {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16}) {
      const at::Tensor nchw = input.to(t);
      const at::Tensor nhwc = nchw.contiguous(at::MemoryFormat::ChannelsLast);
      ASSERT_FALSE(nhwc.is_contiguous());
      const at::Tensor r = t == at::kDouble ? rois : rois.to(at::kFloat);
      const at::Tensor want = RoIAlign(nchw, r, o);
      const at::Tensor got = RoIAlign(nhwc, r, o);
      EXPECT_TRUE(got.is_contiguous());  // [K, C, PH, PW], as on NCHW
      EXPECT_TRUE(at::equal(got, want)) << t << " sr=" << sr;
    }
  }
  // Gradients reach a channels-last input (the backward writes NCHW).
  const at::Tensor x =
      input.contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
  const at::Tensor y = RoIAlign(x, rois);
  const at::Tensor g = at::randn_like(y);
  y.backward(g);
  const at::Tensor want_grad =
      detail::RoIAlignBackward(g, rois, {}, input.sizes(), at::kDouble);
  EXPECT_TRUE(at::allclose(x.grad(), want_grad, 1e-12, 1e-12));
}

TEST(RoIAlignTest, GradientMatchesFiniteDifferences) {
  std::mt19937 rng(6);
  at::manual_seed(6);
  at::Tensor input = at::randn({2, 2, 6, 7}, at::kDouble).requires_grad_(true);
  const at::Tensor rois = RandomRois(6, 2, 24, 28, rng);
  RoIAlignOptions o;
  o.pooled_height = 2;
  o.pooled_width = 3;
  o.spatial_scale = 0.25;
  o.sampling_ratio = 2;
  const at::Tensor weight = at::randn({6, 2, 2, 3}, at::kDouble);
  const at::Tensor loss = (RoIAlign(input, rois, o) * weight).sum();
  loss.backward();
  const at::Tensor analytic = input.grad().clone();
  at::Tensor x = input.detach().clone();
  const double eps = 1e-6;
  auto flat = x.view({-1});
  at::Tensor numeric = at::zeros_like(flat);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double orig = flat[i].item<double>();
    flat[i] = orig + eps;
    const double up =
        (detail::RoIAlignForward(x, rois, o) * weight).sum().item<double>();
    flat[i] = orig - eps;
    const double down =
        (detail::RoIAlignForward(x, rois, o) * weight).sum().item<double>();
    flat[i] = orig;
    numeric[i] = (up - down) / (2 * eps);
  }
  EXPECT_TRUE(at::allclose(analytic.view({-1}), numeric, 1e-6, 1e-7))
      << (analytic.view({-1}) - numeric).abs().max().item<double>();
  EXPECT_GT(analytic.abs().sum().item<double>(), 0.0);
}

TEST(RoIAlignTest, BackwardIsTheAdjointOnLargeInputs) {
  // <RoIAlign(x), g> == <x, RoIAlign^T(g)> for any x, g (the op is linear).
  std::mt19937 rng(8);
  at::manual_seed(8);
  const at::Tensor x = at::randn({3, 16, 32, 32}, at::kDouble);
  const at::Tensor rois = RandomRois(200, 3, 512, 512, rng);
  RoIAlignOptions o;
  o.sampling_ratio = 0;  // adaptive
  const at::Tensor y = detail::RoIAlignForward(x, rois, o);
  const at::Tensor g = at::randn_like(y);
  const at::Tensor gx =
      detail::RoIAlignBackward(g, rois, o, x.sizes(), at::kDouble);
  const double lhs = (y * g).sum().item<double>();
  const double rhs = (x * gx).sum().item<double>();
  EXPECT_NEAR(lhs, rhs, 1e-9 * std::max(1.0, std::abs(lhs)));
}

TEST(RoIAlignTest, EmptyAndInvalidInputs) {
  const at::Tensor input = at::randn({2, 3, 8, 8});
  const at::Tensor none = at::empty({0, 5});
  EXPECT_EQ(RoIAlign(input, none).sizes(), (std::vector<int64_t>{0, 3, 7, 7}));
  EXPECT_THAT(ErrorOf([&] {
                RoIAlign(input, at::zeros({4, 4}));
              }),
              HasSubstr("rois must have shape [K, 5]"));
  EXPECT_THAT(ErrorOf([&] {
                RoIAlign(input.view({6, 8, 8}), none);
              }),
              HasSubstr("input must have shape [N, C, H, W], got [6, 8, 8]"));
  at::Tensor bad = at::tensor({2.0f, 0.f, 0.f, 4.f, 4.f}).view({1, 5});
  EXPECT_THAT(ErrorOf([&] { RoIAlign(input, bad); }),
              HasSubstr("batch indices must be integers in [0, 2)"));
  bad[0][0] = 0.5f;
  EXPECT_THAT(ErrorOf([&] { RoIAlign(input, bad); }),
              HasSubstr("batch indices must be integers"));
  bad[0][0] = 0;
  bad[0][3] = std::nanf("");
  EXPECT_THAT(ErrorOf([&] { RoIAlign(input, bad); }), HasSubstr("non-finite"));
  EXPECT_THROW(RoIAlign(input, bad), NonFiniteInputError);
  RoIAlignOptions o;
  o.pooled_width = 0;
  EXPECT_THAT(ErrorOf([&] { RoIAlign(input, none, o); }),
              HasSubstr("pooled size must be > 0, got 7x0"));
}

TEST(RoIAlignTest, DoubleBackwardIsRefused) {
  // RoIAlign is linear in its input, so the only non-trivial second
  // derivative is through grad_output; it must fail loudly, not be zero.
  at::Tensor input = at::randn({1, 1, 5, 5}, at::kDouble).requires_grad_(true);
  const at::Tensor rois =
      at::tensor({0.0, 0.0, 0.0, 40.0, 40.0}, at::kDouble).view({1, 5});
  const at::Tensor out = RoIAlign(input, rois);
  const at::Tensor go = at::randn_like(out).requires_grad_(true);
  const auto grads = torch::autograd::grad({out}, {input}, {go}, true, true);
  ASSERT_TRUE(grads[0].requires_grad());
  EXPECT_THAT(ErrorOf([&] { grads[0].sum().backward(); }),
              HasSubstr("double backward is not supported"));
}

}  // namespace
}  // namespace sniper::ops
