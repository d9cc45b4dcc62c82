#include "inference/merge.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "ops/nms.h"
#include "ops/soft_nms.h"

namespace sniper::inference {

ImageDetections MergeDetections(const ImageDetections& pooled,
                                const InferenceOptions& o) {
  // The kept rows of `pooled` in output order, and their scores.
  torch::Tensor rows, scores;
  const torch::Tensor above =
      (pooled.scores >= o.score_threshold).nonzero().view(-1);
  const torch::Tensor boxes = pooled.boxes.index_select(0, above);
  const torch::Tensor labels = pooled.labels.index_select(0, above);
  const torch::Tensor kept_scores = pooled.scores.index_select(0, above);
  if (!o.soft_nms) {
    rows = ops::BatchedNms(boxes, kept_scores, labels, o.nms_threshold);
    if (rows.size(0) > o.max_detections) {
      rows = rows.narrow(0, 0, o.max_detections);
    }
    scores = kept_scores.index_select(0, rows);
  } else {
    ops::SoftNmsOptions so;
    so.method = ops::SoftNmsOptions::Method::kGaussian;
    so.sigma = o.soft_nms_sigma;
    so.score_threshold = o.score_threshold;
    std::vector<torch::Tensor> sel, decayed;
    const torch::Tensor classes = std::get<0>(at::_unique(labels));
    for (int64_t c = 0; c < classes.size(0); ++c) {
      const torch::Tensor mine = (labels == classes[c]).nonzero().view(-1);
      auto [idx, d] = ops::SoftNms(boxes.index_select(0, mine),
                                   kept_scores.index_select(0, mine), so);
      sel.push_back(mine.index_select(0, idx));
      decayed.push_back(d.to(kept_scores.scalar_type()));
    }
    if (sel.empty()) {
      rows = torch::zeros({0}, torch::kInt64);
      scores = kept_scores.index_select(0, rows);
    } else {
      const torch::Tensor all_rows = torch::cat(sel);
      const torch::Tensor all_scores = torch::cat(decayed);
      // Decreasing score, ties in class order then selection order.
      torch::Tensor order =
          std::get<1>(all_scores.sort(/*stable=*/true, 0, true));
      if (order.size(0) > o.max_detections) {
        order = order.narrow(0, 0, o.max_detections);
      }
      rows = all_rows.index_select(0, order);
      scores = all_scores.index_select(0, order);
    }
  }
  ImageDetections out{boxes.index_select(0, rows).contiguous(),
                      scores.contiguous(),
                      labels.index_select(0, rows).contiguous(),
                      /*masks=*/torch::Tensor()};
  if (pooled.masks.defined()) {
    out.masks =
        pooled.masks.index_select(0, above).index_select(0, rows).contiguous();
  }
  return out;
}

ops::ProposalOptions ChipProposals(const ops::ProposalOptions& image,
                                   double area_fraction, int64_t min_post_nms) {
  if (min_post_nms <= 0 || area_fraction >= 1) return image;
  ops::ProposalOptions o = image;
  auto share = [area_fraction](int64_t n) {
    return static_cast<int64_t>(std::ceil(n * area_fraction - 1e-9));
  };
  o.post_nms_top_n =
      std::min(image.post_nms_top_n,
               std::max(min_post_nms, share(image.post_nms_top_n)));
  o.pre_nms_top_n =
      std::min(image.pre_nms_top_n,
               std::max(o.post_nms_top_n, share(image.pre_nms_top_n)));
  return o;
}

}  // namespace sniper::inference
