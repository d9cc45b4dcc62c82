#include "ops/proposal_layer.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/anchors.h"
#include "ops/box_iou.h"
#include "ops/nms.h"
#include "ops/testing/errors.h"

namespace sniper::ops {
namespace {

using ::testing::HasSubstr;

TEST(ProposalLayerTest, DecodesFiltersAndSuppressesPerChip) {
  at::manual_seed(0);
  AnchorOptions ao;
  const int64_t b = 2, h = 8, w = 8, a = ao.num_anchors();
  const at::Tensor anchors = GridAnchors(ao, h, w);
  const at::Tensor scores = at::randn({b, a, h, w});
  const at::Tensor deltas = at::randn({b, 4 * a, h, w}) * 0.1;
  const at::Tensor sizes =
      at::tensor({128.0f, 128.0f, 100.0f, 60.0f}).view({2, 2});
  ProposalOptions o;
  o.pre_nms_top_n = 500;
  o.post_nms_top_n = 50;
  o.min_size = 4;
  const auto [rois, sc] = GenerateProposals(scores, deltas, anchors, sizes, o);
  ASSERT_EQ(rois.dim(), 2);
  ASSERT_EQ(rois.size(1), 5);
  ASSERT_EQ(rois.size(0), sc.size(0));
  for (int64_t i = 0; i < b; ++i) {
    const at::Tensor mine = (rois.select(1, 0) == i).nonzero().view(-1);
    ASSERT_GT(mine.numel(), 0);
    ASSERT_LE(mine.numel(), 50);
    const at::Tensor boxes = rois.index_select(0, mine).slice(1, 1, 5);
    const at::Tensor s = sc.index_select(0, mine);
    // Inside the chip's valid area, at least min_size, sorted by score.
    EXPECT_TRUE((boxes.select(1, 0) >= 0).all().item<bool>());
    EXPECT_TRUE((boxes.select(1, 2) <= sizes[i][1]).all().item<bool>());
    EXPECT_TRUE((boxes.select(1, 3) <= sizes[i][0]).all().item<bool>());
    EXPECT_TRUE(
        ((boxes.select(1, 2) - boxes.select(1, 0)) >= 4).all().item<bool>());
    EXPECT_TRUE((s.slice(0, 1) <= s.slice(0, 0, -1)).all().item<bool>());
    // No two kept boxes overlap above the NMS threshold.
    const at::Tensor iou = BoxIou(boxes, boxes) - at::eye(boxes.size(0));
    EXPECT_LE(iou.max().item<float>(), 0.7f + 1e-6f);
  }
  // The best proposal of chip 0 is the best-scoring anchor's decoded box
  // (when it survives clipping/min size): compare with a direct decode.
  const at::Tensor flat = scores[0].permute({1, 2, 0}).reshape({-1});
  const int64_t best = flat.argmax().item<int64_t>();
  const at::Tensor d =
      deltas[0].view({a, 4, h, w}).permute({2, 3, 0, 1}).reshape({-1, 4});
  const at::Tensor box =
      ClipBoxes(DecodeBoxes(d.slice(0, best, best + 1),
                            anchors.slice(0, best, best + 1), o.coder),
                128, 128);
  const at::Tensor bw = box[0][2] - box[0][0], bh = box[0][3] - box[0][1];
  if (bw.item<float>() >= 4 && bh.item<float>() >= 4) {
    EXPECT_TRUE(at::allclose(rois[0].slice(0, 1, 5), box[0]));
    EXPECT_FLOAT_EQ(sc[0].item<float>(), flat[best].item<float>());
  }
}

TEST(ProposalLayerTest, ChecksShapes) {
  AnchorOptions ao;
  const at::Tensor anchors = GridAnchors(ao, 4, 4);
  const auto& error = ::sniper::testing::ErrorOf;
  EXPECT_THAT(error([&] {
                GenerateProposals(at::zeros({1, 21, 4, 4}),
                                  at::zeros({1, 80, 4, 4}), anchors,
                                  at::ones({1, 2}));
              }),
              HasSubstr("deltas must be [1, 84, 4, 4], got [1, 80, 4, 4]"));
  EXPECT_THAT(error([&] {
                GenerateProposals(at::zeros({1, 21, 4, 5}),
                                  at::zeros({1, 84, 4, 5}), anchors,
                                  at::ones({1, 2}));
              }),
              HasSubstr("anchors must be [420, 4]"));
}

}  // namespace
}  // namespace sniper::ops
