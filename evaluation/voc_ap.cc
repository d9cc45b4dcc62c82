#include "evaluation/voc_ap.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace sniper::evaluation {
namespace {

double Iou(const GtBox& g, const Detection& d) {
  const double x1 = std::max(g.x, d.x), y1 = std::max(g.y, d.y);
  const double x2 = std::min(g.x + g.w, d.x + d.w);
  const double y2 = std::min(g.y + g.h, d.y + d.h);
  const double inter = std::max(0.0, x2 - x1) * std::max(0.0, y2 - y1);
  const double uni = g.w * g.h + d.w * d.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

struct Key {
  int64_t image, category;
  bool operator==(const Key& o) const {
    return image == o.image && category == o.category;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Key& k) {
    return H::combine(std::move(h), k.image, k.category);
  }
};

}  // namespace

double VocAveragePrecision(absl::Span<const double> recall,
                           absl::Span<const double> precision,
                           VocApMetric metric) {
  if (metric == VocApMetric::kElevenPoints) {
    double ap = 0;
    for (int t = 0; t <= 10; ++t) {
      double p = 0;
      for (size_t i = 0; i < recall.size(); ++i) {
        if (recall[i] >= t / 10.0 - 1e-12) p = std::max(p, precision[i]);
      }
      ap += p / 11;
    }
    return ap;
  }
  // The envelope from the right, then the area under it where recall
  // steps.
  std::vector<double> env(precision.begin(), precision.end());
  for (size_t i = env.size(); i-- > 1;)
    env[i - 1] = std::max(env[i - 1], env[i]);
  double ap = 0, last_recall = 0;
  for (size_t i = 0; i < recall.size(); ++i) {
    ap += (recall[i] - last_recall) * env[i];
    last_recall = recall[i];
  }
  return ap;
}

absl::StatusOr<VocApResult> EvaluateVocAp(const EvalGroundTruth& gt,
                                          absl::Span<const Detection> dets,
                                          double iou_threshold,
                                          VocApMetric metric) {
  const absl::flat_hash_set<int64_t> images(gt.image_ids.begin(),
                                            gt.image_ids.end());
  std::vector<int64_t> categories = gt.category_ids;
  std::sort(categories.begin(), categories.end());
  const absl::flat_hash_set<int64_t> known(categories.begin(),
                                           categories.end());
  absl::flat_hash_map<int64_t, std::vector<size_t>> dets_of;
  for (size_t i = 0; i < dets.size(); ++i) {
    const Detection& d = dets[i];
    if (!images.contains(d.image_id) || !known.contains(d.category_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", i, ": image ", d.image_id, " or category ",
                       d.category_id, " is not in the ground truth"));
    }
    if (!std::isfinite(d.x) || !std::isfinite(d.y) || !std::isfinite(d.w) ||
        !std::isfinite(d.h) || !std::isfinite(d.score)) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", i, ": non-finite box or score"));
    }
    dets_of[d.category_id].push_back(i);
  }
  absl::flat_hash_map<Key, std::vector<size_t>> gt_of;
  absl::flat_hash_map<int64_t, int64_t> positives;  // per category
  for (size_t i = 0; i < gt.boxes.size(); ++i) {
    const GtBox& g = gt.boxes[i];
    gt_of[{g.image_id, g.category_id}].push_back(i);
    if (!g.iscrowd) ++positives[g.category_id];
  }

  VocApResult result;
  double sum = 0;
  int counted = 0;
  std::vector<uint8_t> matched(gt.boxes.size(), 0);
  for (int64_t c : categories) {
    const int64_t npos = positives[c];
    if (npos == 0) {
      result.per_category_ap.emplace_back(c, -1.0);
      continue;
    }
    std::vector<size_t> order = dets_of[c];
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return dets[a].score > dets[b].score;
    });
    std::vector<double> recall, precision;
    int64_t tp = 0, fp = 0;
    for (size_t i : order) {
      const Detection& d = dets[i];
      double best = -1;
      int64_t best_gt = -1;
      if (auto it = gt_of.find(Key{d.image_id, c}); it != gt_of.end()) {
        for (size_t g : it->second) {
          const double iou = Iou(gt.boxes[g], d);
          if (iou > best) {
            best = iou;
            best_gt = static_cast<int64_t>(g);
          }
        }
      }
      if (best >= iou_threshold && gt.boxes[best_gt].iscrowd) continue;
      if (best >= iou_threshold && !matched[best_gt]) {
        matched[best_gt] = 1;
        ++tp;
      } else {
        ++fp;
      }
      recall.push_back(static_cast<double>(tp) / npos);
      precision.push_back(static_cast<double>(tp) / (tp + fp));
    }
    const double ap = VocAveragePrecision(recall, precision, metric);
    result.per_category_ap.emplace_back(c, ap);
    sum += ap;
    ++counted;
  }
  result.mean_ap = counted > 0 ? sum / counted : -1.0;
  return result;
}

}  // namespace sniper::evaluation
