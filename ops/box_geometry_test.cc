#include <ATen/ATen.h>

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/anchors.h"
#include "ops/box_coder.h"
#include "ops/testing/errors.h"

namespace sniper::ops {
namespace {

using ::testing::HasSubstr;

using ::sniper::testing::ErrorOf;

TEST(AnchorsTest, SniperAnchorsHaveTheSpecifiedSizes) {
  const AnchorOptions opts;
  ASSERT_EQ(opts.num_anchors(), 21);
  const at::Tensor base = BaseAnchors(opts, at::kDouble);
  ASSERT_EQ(base.sizes(), (std::vector<int64_t>{21, 4}));
  auto B = base.accessor<double, 2>();
  const double scales[] = {2, 4, 7, 10, 13, 16, 24};
  const double ratios[] = {0.5, 1, 2};
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 7; ++s) {
      const int a = r * 7 + s;
      const double w = B[a][2] - B[a][0], h = B[a][3] - B[a][1];
      EXPECT_NEAR(w * h, std::pow(scales[s] * 16, 2), 1e-6) << a;
      EXPECT_NEAR(h / w, ratios[r], 1e-12) << a;
      EXPECT_NEAR(B[a][0] + B[a][2], 0, 1e-12);  // centred
    }
  }
  // Square anchors span 32..384 px.
  EXPECT_DOUBLE_EQ(B[7][2] - B[7][0], 32);
  EXPECT_DOUBLE_EQ(B[13][2] - B[13][0], 384);
}

TEST(AnchorsTest, GridOrderIsRowColumnAnchor) {
  AnchorOptions opts;
  opts.ratios = {1.0};
  opts.scales = {1.0, 2.0};
  const at::Tensor g = GridAnchors(opts, 2, 3, at::kDouble);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{12, 4}));
  auto G = g.accessor<double, 2>();
  // Cell (y=1, x=2), anchor 1 (scale 2: 32 px) is row (1 * 3 + 2) * 2 + 1.
  const int row = (1 * 3 + 2) * 2 + 1;
  EXPECT_DOUBLE_EQ(G[row][0], 2.5 * 16 - 16);
  EXPECT_DOUBLE_EQ(G[row][1], 1.5 * 16 - 16);
  EXPECT_DOUBLE_EQ(G[row][2], 2.5 * 16 + 16);
  EXPECT_DOUBLE_EQ(G[row][3], 1.5 * 16 + 16);
  EXPECT_EQ(GridAnchors(opts, 0, 5).size(0), 0);
  opts.scales = {};
  EXPECT_THAT(ErrorOf([&] { BaseAnchors(opts); }),
              HasSubstr("at least one ratio and one scale"));
  opts.scales = {1.0};
  opts.ratios = {-1.0};
  EXPECT_THAT(ErrorOf([&] { BaseAnchors(opts); }),
              HasSubstr("ratios: -1 is not a positive finite number"));
}

TEST(BoxCoderTest, HandWorkedEncoding) {
  const at::Tensor ref = at::tensor({0.0, 0.0, 10.0, 20.0}).view({1, 4});
  const at::Tensor tgt = at::tensor({2.0, 4.0, 22.0, 24.0}).view({1, 4});
  const at::Tensor d = EncodeBoxes(ref, tgt);
  // centres (5, 10) -> (12, 14); sizes (10, 20) -> (20, 20).
  EXPECT_NEAR(d[0][0].item<double>(), 10 * 7.0 / 10, 1e-12);
  EXPECT_NEAR(d[0][1].item<double>(), 10 * 4.0 / 20, 1e-12);
  EXPECT_NEAR(d[0][2].item<double>(), 5 * std::log(2.0), 1e-12);
  EXPECT_NEAR(d[0][3].item<double>(), 0.0, 1e-12);
}

TEST(BoxCoderTest, DecodeInvertsEncodeAndClamps) {
  at::manual_seed(0);
  const int64_t n = 500;
  at::Tensor ref = at::rand({n, 2}, at::kDouble) * 500;
  // Sizes 20..320: size ratios stay under the decode clamp (62.5x).
  ref = at::cat({ref, ref + 20 + at::rand({n, 2}, at::kDouble) * 300}, 1);
  at::Tensor tgt = at::rand({n, 2}, at::kDouble) * 500;
  tgt = at::cat({tgt, tgt + 20 + at::rand({n, 2}, at::kDouble) * 300}, 1);
  const at::Tensor back = DecodeBoxes(EncodeBoxes(ref, tgt), ref);
  EXPECT_TRUE(at::allclose(back, tgt, 1e-9, 1e-9));
  // K = 2 boxes per reference, float32.
  const at::Tensor d2 =
      at::cat({EncodeBoxes(ref, tgt), EncodeBoxes(ref, ref)}, 1).to(at::kFloat);
  const at::Tensor b2 = DecodeBoxes(d2, ref.to(at::kFloat));
  EXPECT_TRUE(at::allclose(b2.slice(1, 0, 4), tgt.to(at::kFloat), 1e-3, 1e-3));
  EXPECT_TRUE(at::allclose(b2.slice(1, 4, 8), ref.to(at::kFloat), 1e-3, 1e-3));
  // A huge dw is clamped at log(1000 / 16): width at most 62.5x.
  at::Tensor wild = at::zeros({1, 4}, at::kDouble);
  wild[0][2] = 1e6;
  const at::Tensor r1 = at::tensor({0.0, 0.0, 16.0, 16.0}).view({1, 4});
  const at::Tensor out = DecodeBoxes(wild, r1);
  EXPECT_NEAR((out[0][2] - out[0][0]).item<double>(), 1000.0, 1e-6);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

TEST(BoxCoderTest, ClipAndChecks) {
  const at::Tensor b =
      at::tensor({-5.0, -5.0, 50.0, 70.0, 10.0, 10.0, 20.0, 20.0}).view({1, 8});
  const at::Tensor c = ClipBoxes(b, 60, 40);
  EXPECT_TRUE(at::equal(
      c,
      at::tensor({0.0, 0.0, 40.0, 60.0, 10.0, 10.0, 20.0, 20.0}).view({1, 8})));
  const at::Tensor ok = at::tensor({0.0, 0.0, 10.0, 10.0}).view({1, 4});
  const at::Tensor flat = at::tensor({0.0, 0.0, 0.0, 10.0}).view({1, 4});
  EXPECT_THAT(ErrorOf([&] { EncodeBoxes(flat, ok); }),
              HasSubstr("reference has boxes of zero or negative width"));
  EXPECT_THAT(ErrorOf([&] {
                DecodeBoxes(at::zeros({2, 4}, at::kDouble), ok);
              }),
              HasSubstr("deltas must have shape [1, 4 * K], got [2, 4]"));
  EXPECT_EQ(DecodeBoxes(at::zeros({0, 4}), at::zeros({0, 4})).size(0), 0);
  EXPECT_EQ(EncodeBoxes(at::zeros({0, 4}), at::zeros({0, 4})).size(0), 0);
}

}  // namespace
}  // namespace sniper::ops
