#include "evaluation/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "port/status_macros.h"

namespace sniper::evaluation {
namespace {

constexpr int kT = 10;   // IoU thresholds
constexpr int kR = 101;  // recall points
constexpr int kA = 4;    // all, small, medium, large
constexpr int kM = 3;    // maxDets 1, 10, 100
constexpr int kMaxDets[kM] = {1, 10, 100};
constexpr double kAreaRange[kA][2] = {
    {0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};

// numpy.linspace(start, stop, num): start + i * step, the last one = stop.
std::array<double, kT> IouThresholds() {
  std::array<double, kT> t{};
  const double step = (0.95 - 0.5) / (kT - 1);
  for (int i = 0; i < kT; ++i) t[i] = i * step + 0.5;
  t[kT - 1] = 0.95;
  return t;
}
std::array<double, kR> RecallPoints() {
  std::array<double, kR> r{};
  const double step = 1.0 / (kR - 1);
  for (int i = 0; i < kR; ++i) r[i] = i * step;
  r[kR - 1] = 1.0;
  return r;
}

// pycocotools' bbIou: boxes [x, y, w, h]; crowd ground truth uses the
// detection's area as the union.
double BoxIou(double dx, double dy, double dw, double dh, double gx, double gy,
              double gw, double gh, bool crowd) {
  const double w = std::min(dx + dw, gx + gw) - std::max(dx, gx);
  if (w <= 0) return 0;
  const double h = std::min(dy + dh, gy + gh) - std::max(dy, gy);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double da = dw * dh;
  const double u = crowd ? da : da + gw * gh - inter;
  return inter / u;
}

// What matching needs of the detections and ground truth beyond their
// boxes: the detections' areas (the area-range rule: Detection::area as the
// reference's loadRes sets it, w * h when unset) and, for masks, every
// mask's tight box (the reference's pre-check before the RLE intersection).
struct Geometry {
  bool masks = false;
  std::vector<double> dt_area;
  std::vector<masks::MaskBox> dt_box, gt_box;

  Geometry(const EvalGroundTruth& gt, absl::Span<const Detection> dets,
           bool use_masks)
      : masks(use_masks) {
    dt_area.reserve(dets.size());
    for (const Detection& d : dets) {
      dt_area.push_back(d.AreaForRanges());
      if (use_masks) dt_box.push_back(masks::ToBox(d.mask));
    }
    if (!use_masks) return;
    gt_box.reserve(gt.boxes.size());
    for (const GtBox& g : gt.boxes) gt_box.push_back(masks::ToBox(g.mask));
  }

  // pycocotools' iou(): bbIou of the boxes, or rleIou of the masks (0 when
  // their boxes do not overlap; -1 for masks of different sizes).
  double Iou(const Detection& d, int32_t di, const GtBox& g, int32_t gi) const {
    if (!masks)
      return BoxIou(d.x, d.y, d.w, d.h, g.x, g.y, g.w, g.h, g.iscrowd);
    const masks::MaskBox& a = dt_box[di];
    const masks::MaskBox& b = gt_box[gi];
    if (BoxIou(a.x, a.y, a.w, a.h, b.x, b.y, b.w, b.h, g.iscrowd) <= 0) {
      return 0;
    }
    return masks::Iou(d.mask, g.mask, g.iscrowd);
  }
};

constexpr int kM100 = 2;  // the maxDets = 100 index: every AP summary's

// Ground truth and detections keyed by (category index, image index) as
// k * num_images + i, validated: errors name the box or detection.
struct Keys {
  std::vector<int64_t> image_ids, cat_ids;  // sorted, unique
  std::vector<int64_t> gt, dt;              // per box, per detection
};

absl::StatusOr<Keys> KeyInputs(const EvalGroundTruth& gt,
                               absl::Span<const Detection> dets) {
  Keys keys;
  keys.image_ids = gt.image_ids;
  std::sort(keys.image_ids.begin(), keys.image_ids.end());
  keys.image_ids.erase(
      std::unique(keys.image_ids.begin(), keys.image_ids.end()),
      keys.image_ids.end());
  keys.cat_ids = gt.category_ids;
  std::sort(keys.cat_ids.begin(), keys.cat_ids.end());
  keys.cat_ids.erase(std::unique(keys.cat_ids.begin(), keys.cat_ids.end()),
                     keys.cat_ids.end());
  absl::flat_hash_map<int64_t, int32_t> image_index, cat_index;
  for (size_t i = 0; i < keys.image_ids.size(); ++i) {
    image_index[keys.image_ids[i]] = i;
  }
  for (size_t k = 0; k < keys.cat_ids.size(); ++k) {
    cat_index[keys.cat_ids[k]] = k;
  }
  const int64_t num_images = keys.image_ids.size();
  keys.gt.resize(gt.boxes.size());
  for (size_t j = 0; j < gt.boxes.size(); ++j) {
    const GtBox& g = gt.boxes[j];
    auto ii = image_index.find(g.image_id);
    auto kk = cat_index.find(g.category_id);
    if (ii == image_index.end() || kk == cat_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ground truth box ", j, ": ",
                       ii == image_index.end() ? "image_id " : "category_id ",
                       ii == image_index.end() ? g.image_id : g.category_id,
                       " is not in the ground truth's ",
                       ii == image_index.end() ? "images" : "categories"));
    }
    keys.gt[j] = kk->second * num_images + ii->second;
  }
  keys.dt.resize(dets.size());
  for (size_t j = 0; j < dets.size(); ++j) {
    const Detection& d = dets[j];
    auto ii = image_index.find(d.image_id);
    if (ii == image_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", j, ": image_id ", d.image_id,
                       " is not in the ground truth"));
    }
    auto kk = cat_index.find(d.category_id);
    if (kk == cat_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", j, ": category_id ", d.category_id,
                       " is not in the ground truth"));
    }
    if (!(std::isfinite(d.x) && std::isfinite(d.y) && std::isfinite(d.w) &&
          std::isfinite(d.h) && std::isfinite(d.score))) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", j, ": bbox and score must be finite"));
    }
    if (d.w < 0 || d.h < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("detection ", j, ": negative width or height (", d.w,
                       ", ", d.h, ")"));
    }
    if (d.area && !(std::isfinite(*d.area) && *d.area >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "detection ", j, ": area must be finite and >= 0, got ", *d.area));
    }
    keys.dt[j] = kk->second * num_images + ii->second;
  }
  return keys;
}

// Indices sorted by key, file order inside a key (the reference's order).
// Sparse: memory and time follow the boxes, not images x categories.
std::vector<int32_t> SortedByKey(const std::vector<int64_t>& keys) {
  std::vector<int32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&keys](int32_t a, int32_t b) { return keys[a] < keys[b]; });
  return order;
}

// One category's images, each a run of its ground truth and detections.
struct ImageRun {
  const int32_t* gt;
  size_t num_gt;
  const int32_t* dt;
  size_t num_dt;
};

// A detection kept for accumulation (score order in its image, at most
// 100 per image), laid end to end over the category's images.
struct Kept {
  double score;
  int32_t pos;   // into the category's match arrays
  int32_t rank;  // within its image
};

// Per category: the matching of every image's detections, then the
// precision/recall accumulation. Buffers are reused across categories.
class CategoryEvaluator {
 public:
  CategoryEvaluator(const EvalGroundTruth& gt, absl::Span<const Detection> dets,
                    const Geometry& geometry)
      : gt_(gt),
        dets_(dets),
        geometry_(geometry),
        iou_thr_(IouThresholds()),
        rec_thr_(RecallPoints()) {}

  // `runs` in image order; `num_dets` their detections in all. Writes
  // recall [t][a][m] and the sum over recall points of precision at
  // maxDets 100 [a][t] (-1 where the area range has no ground truth).
  void Evaluate(const std::vector<ImageRun>& runs, size_t num_dets,
                double* recall, double* precision_sum) {
    pool_.clear();
    cap_ = num_dets;
    matched_.assign(size_t{kA} * kT * cap_, 0);
    ignored_.assign(size_t{kA} * kT * cap_, 0);
    npig_.fill(0);
    for (const ImageRun& run : runs) MatchImage(run);
    Accumulate(recall, precision_sum);
  }

 private:
  uint8_t* Flags(std::vector<uint8_t>& v, int ar, int t) {
    return v.data() + (size_t{static_cast<size_t>(ar)} * kT + t) * cap_;
  }

  void MatchImage(const ImageRun& run) {
    const int32_t* g = run.gt;
    const size_t ng = run.num_gt;
    dt_order_.assign(run.dt, run.dt + run.num_dt);
    std::stable_sort(dt_order_.begin(), dt_order_.end(),
                     [this](int32_t a, int32_t b) {
                       return dets_[a].score > dets_[b].score;
                     });
    const size_t nd = std::min<size_t>(dt_order_.size(), 100);
    const int32_t base = static_cast<int32_t>(pool_.size());
    for (size_t a = 0; a < nd; ++a) {
      pool_.push_back({dets_[dt_order_[a]].score,
                       base + static_cast<int32_t>(a),
                       static_cast<int32_t>(a)});
    }
    ious_.assign(nd * ng, 0.0);
    for (size_t a = 0; a < nd; ++a) {
      for (size_t b = 0; b < ng; ++b) {
        const int32_t d = dt_order_[a];
        ious_[a * ng + b] = geometry_.Iou(dets_[d], d, gt_.boxes[g[b]], g[b]);
      }
    }
    for (int ar = 0; ar < kA; ++ar) {
      const double lo = kAreaRange[ar][0], hi = kAreaRange[ar][1];
      gt_ignore_.resize(ng);
      gt_order_.clear();
      for (size_t b = 0; b < ng; ++b) {
        const GtBox& box = gt_.boxes[g[b]];
        gt_ignore_[b] = box.iscrowd || box.area < lo || box.area > hi;
        if (!gt_ignore_[b]) gt_order_.push_back(static_cast<int32_t>(b));
      }
      npig_[ar] += gt_order_.size();
      for (size_t b = 0; b < ng; ++b) {
        if (gt_ignore_[b]) gt_order_.push_back(static_cast<int32_t>(b));
      }
      for (int t = 0; t < kT; ++t) {
        MatchAtThreshold(g, ng, nd, lo, hi, iou_thr_[t],
                         Flags(matched_, ar, t) + base,
                         Flags(ignored_, ar, t) + base);
      }
    }
  }

  // pycocotools' evaluateImg matching at one IoU threshold.
  void MatchAtThreshold(const int32_t* g, size_t ng, size_t nd, double lo,
                        double hi, double thr, uint8_t* mt, uint8_t* ig) {
    gt_matched_.assign(ng, 0);
    for (size_t a = 0; a < nd; ++a) {
      double best = std::min(thr, 1 - 1e-10);
      int64_t m = -1;
      for (size_t s = 0; s < ng; ++s) {
        const int32_t b = gt_order_[s];
        if (gt_matched_[s] && !gt_.boxes[g[b]].iscrowd) continue;
        if (m > -1 && gt_ignore_[gt_order_[m]] == 0 && gt_ignore_[b] == 1) {
          break;
        }
        const double v = ious_[a * ng + b];
        if (v < best) continue;
        best = v;
        m = s;
      }
      if (m >= 0) {
        ig[a] = gt_ignore_[gt_order_[m]];
        mt[a] = 1;
        gt_matched_[m] = 1;
      } else {
        const double area = geometry_.dt_area[dt_order_[a]];
        ig[a] = area < lo || area > hi;
      }
    }
  }

  // Accumulates over images (in image id order: the pool's order) for each
  // area range and maxDets. One stable sort by score serves every maxDets:
  // keeping the detections of rank < maxDets in the sorted order is the
  // stable sort of the kept ones.
  void Accumulate(double* recall, double* precision_sum) {
    std::stable_sort(
        pool_.begin(), pool_.end(),
        [](const Kept& x, const Kept& y) { return x.score > y.score; });
    for (int ar = 0; ar < kA; ++ar) {
      if (npig_[ar] == 0) continue;
      for (int mi = 0; mi < kM; ++mi) {
        const int32_t max_det = kMaxDets[mi];
        // The reference keeps ignored detections in its cumulative arrays
        // with unchanged counts; leaving them out gives the same envelope
        // and the same searchsorted samples, so they are skipped here.
        for (int t = 0; t < kT; ++t) {
          const uint8_t* mt = Flags(matched_, ar, t);
          const uint8_t* ig = Flags(ignored_, ar, t);
          double tp = 0, fp = 0;
          pr_.clear();
          rc_.clear();
          for (const Kept& e : pool_) {
            if (e.rank >= max_det || ig[e.pos]) continue;
            if (mt[e.pos]) {
              tp += 1;
            } else {
              fp += 1;
            }
            rc_.push_back(tp / static_cast<double>(npig_[ar]));
            pr_.push_back(tp / (fp + tp + 2.220446049250313e-16));
          }
          recall[(t * kA + ar) * kM + mi] = rc_.empty() ? 0.0 : rc_.back();
          if (mi != kM100) continue;
          for (size_t i = pr_.size(); i-- > 1;) {
            if (pr_[i] > pr_[i - 1]) pr_[i - 1] = pr_[i];
          }
          double sum = 0;
          size_t pi = 0;
          for (int r = 0; r < kR; ++r) {
            while (pi < rc_.size() && rc_[pi] < rec_thr_[r]) ++pi;
            sum += pi < rc_.size() ? pr_[pi] : 0.0;
          }
          precision_sum[ar * kT + t] = sum;
        }
      }
    }
  }

  const EvalGroundTruth& gt_;
  absl::Span<const Detection> dets_;
  const Geometry& geometry_;
  const std::array<double, kT> iou_thr_;
  const std::array<double, kR> rec_thr_;
  size_t cap_ = 0;
  std::vector<Kept> pool_;
  std::vector<uint8_t> matched_, ignored_;
  std::array<int64_t, kA> npig_{};
  std::vector<double> ious_, pr_, rc_;
  std::vector<int32_t> dt_order_, gt_order_;
  std::vector<uint8_t> gt_ignore_, gt_matched_;
};

// The next run of equal keys at `order[*pos]`, advancing *pos.
size_t TakeRun(const std::vector<int32_t>& order,
               const std::vector<int64_t>& keys, int64_t key, size_t* pos) {
  const size_t start = *pos;
  while (*pos < order.size() && keys[order[*pos]] == key) ++*pos;
  return *pos - start;
}

}  // namespace

namespace {

// Every box and detection carries a valid mask of its image's size (when
// the ground truth knows the image sizes).
absl::Status CheckMasks(const EvalGroundTruth& gt,
                        absl::Span<const Detection> dets) {
  absl::flat_hash_map<int64_t, std::array<int32_t, 2>> size_of;
  for (size_t i = 0; i < gt.image_sizes.size() && i < gt.image_ids.size();
       ++i) {
    size_of[gt.image_ids[i]] = gt.image_sizes[i];
  }
  auto check = [&](const char* what, size_t j, int64_t image_id,
                   const masks::Rle& m) -> absl::Status {
    if (absl::Status s = masks::ValidateRle(m); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", j, ": mask: ", s.message()));
    }
    if (m.height == 0 || m.width == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", j, ": no mask (segm evaluation)"));
    }
    auto it = size_of.find(image_id);
    if (it != size_of.end() &&
        (m.height != it->second[0] || m.width != it->second[1])) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", j, ": mask size [", m.height, ", ", m.width,
                       "] is not image ", image_id, "'s [", it->second[0], ", ",
                       it->second[1], "]"));
    }
    return absl::OkStatus();
  };
  for (size_t j = 0; j < gt.boxes.size(); ++j) {
    RETURN_IF_ERROR(
        check("ground truth box", j, gt.boxes[j].image_id, gt.boxes[j].mask));
  }
  for (size_t j = 0; j < dets.size(); ++j) {
    RETURN_IF_ERROR(check("detection", j, dets[j].image_id, dets[j].mask));
  }
  return absl::OkStatus();
}

absl::StatusOr<CocoEvalResult> Evaluate(const EvalGroundTruth& gt,
                                        absl::Span<const Detection> dets,
                                        bool use_masks) {
  ASSIGN_OR_RETURN(const Keys keys, KeyInputs(gt, dets));
  if (use_masks) RETURN_IF_ERROR(CheckMasks(gt, dets));
  const Geometry geometry(gt, dets, use_masks);
  const int64_t num_images = keys.image_ids.size();
  const int64_t num_cats = keys.cat_ids.size();
  const std::vector<int32_t> gt_sorted = SortedByKey(keys.gt);
  const std::vector<int32_t> dt_sorted = SortedByKey(keys.dt);

  // Per category: recall [t][a][m] and precision summed over the recall
  // points at maxDets 100 [a][t]; -1 = no ground truth in that area range.
  // O(categories) memory, so a ground truth declaring 60,000 images x
  // 60,000 categories costs what its boxes cost.
  const size_t kRecall = size_t{kT} * kA * kM, kPrecision = size_t{kA} * kT;
  std::vector<double> recall(num_cats * kRecall, -1.0);
  std::vector<double> precision_sum(num_cats * kPrecision, -1.0);
  CategoryEvaluator evaluator(gt, dets, geometry);
  std::vector<ImageRun> runs;
  size_t gp = 0, dp = 0;
  for (int64_t k = 0; k < num_cats; ++k) {
    const int64_t end_key = (k + 1) * num_images;
    runs.clear();
    size_t num_dets = 0;
    while ((gp < gt_sorted.size() && keys.gt[gt_sorted[gp]] < end_key) ||
           (dp < dt_sorted.size() && keys.dt[dt_sorted[dp]] < end_key)) {
      const int64_t gk =
          gp < gt_sorted.size() ? keys.gt[gt_sorted[gp]] : end_key;
      const int64_t dk =
          dp < dt_sorted.size() ? keys.dt[dt_sorted[dp]] : end_key;
      const int64_t key = std::min(gk, dk);
      ImageRun run;
      run.gt = gt_sorted.data() + gp;
      run.num_gt = TakeRun(gt_sorted, keys.gt, key, &gp);
      run.dt = dt_sorted.data() + dp;
      run.num_dt = TakeRun(dt_sorted, keys.dt, key, &dp);
      num_dets += run.num_dt;
      runs.push_back(run);
    }
    if (runs.empty()) continue;
    evaluator.Evaluate(runs, num_dets, recall.data() + k * kRecall,
                       precision_sum.data() + k * kPrecision);
  }

  // Summaries: means over the entries > -1; -1 when there are none.
  auto mean_precision = [&](int t_only, int ar, int64_t k_only) {
    double sum = 0;
    int64_t n = 0;
    const int64_t k_begin = k_only >= 0 ? k_only : 0;
    const int64_t k_end = k_only >= 0 ? k_only + 1 : num_cats;
    for (int64_t k = k_begin; k < k_end; ++k) {
      for (int t = 0; t < kT; ++t) {
        if (t_only >= 0 && t != t_only) continue;
        const double v = precision_sum[k * kPrecision + ar * kT + t];
        if (v > -1) {
          sum += v;
          n += kR;
        }
      }
    }
    return n == 0 ? -1.0 : sum / n;
  };
  auto mean_recall = [&](int ar, int mi) {
    double sum = 0;
    int64_t n = 0;
    for (int t = 0; t < kT; ++t) {
      for (int64_t k = 0; k < num_cats; ++k) {
        const double v = recall[k * kRecall + (t * kA + ar) * kM + mi];
        if (v > -1) {
          sum += v;
          ++n;
        }
      }
    }
    return n == 0 ? -1.0 : sum / n;
  };
  CocoEvalResult out;
  out.num_images = num_images;
  out.num_detections = static_cast<int64_t>(dets.size());
  out.stats = {mean_precision(-1, 0, -1), mean_precision(0, 0, -1),
               mean_precision(5, 0, -1),  mean_precision(-1, 1, -1),
               mean_precision(-1, 2, -1), mean_precision(-1, 3, -1),
               mean_recall(0, 0),         mean_recall(0, 1),
               mean_recall(0, 2),         mean_recall(1, 2),
               mean_recall(2, 2),         mean_recall(3, 2)};
  for (int64_t k = 0; k < num_cats; ++k) {
    out.per_category_ap.push_back({keys.cat_ids[k], mean_precision(-1, 0, k)});
  }
  return out;
}

}  // namespace

absl::StatusOr<CocoEvalResult> EvaluateBoxes(const EvalGroundTruth& gt,
                                             absl::Span<const Detection> dets) {
  return Evaluate(gt, dets, /*use_masks=*/false);
}

absl::StatusOr<CocoEvalResult> EvaluateMasks(const EvalGroundTruth& gt,
                                             absl::Span<const Detection> dets) {
  return Evaluate(gt, dets, /*use_masks=*/true);
}

}  // namespace sniper::evaluation
