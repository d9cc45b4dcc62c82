#include "evaluation/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/proto_io.h"

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
double Iou(const Detection& d, const GtBox& g) {
  const double w = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double da = d.w * d.h;
  const double u = g.iscrowd ? da : da + g.w * g.h - inter;
  return inter / u;
}

// The evaluation of one (image, category, area range), as evaluateImg
// returns it: detections in score order (at most 100).
struct ImageResult {
  std::vector<double> scores;
  // [t * D + d]
  std::vector<uint8_t> matched;
  std::vector<uint8_t> ignored;
  int64_t num_gt_not_ignored = 0;
};

}  // namespace

EvalGroundTruth GroundTruthFromDataset(const data::CocoDataset& dataset) {
  EvalGroundTruth gt;
  for (const data::CocoCategory& c : dataset.categories()) {
    gt.category_ids.push_back(c.id);
  }
  for (size_t i = 0; i < dataset.num_images(); ++i) {
    const data::CocoImage& im = dataset.image(i);
    gt.image_ids.push_back(im.id);
    const auto boxes = dataset.boxes_of(i);
    const auto labels = dataset.labels_of(i);
    const auto crowd = dataset.crowd_of(i);
    for (size_t b = 0; b < boxes.size(); ++b) {
      GtBox g;
      g.image_id = im.id;
      g.category_id = dataset.categories()[labels[b]].id;
      g.x = boxes[b].x;
      g.y = boxes[b].y;
      g.w = boxes[b].w;
      g.h = boxes[b].h;
      g.area = g.w * g.h;
      g.iscrowd = crowd[b] != 0;
      gt.boxes.push_back(g);
    }
  }
  return gt;
}

absl::StatusOr<CocoEvalResult> EvaluateBoxes(const EvalGroundTruth& gt,
                                             absl::Span<const Detection> dets) {
  std::vector<int64_t> image_ids = gt.image_ids;
  std::sort(image_ids.begin(), image_ids.end());
  image_ids.erase(std::unique(image_ids.begin(), image_ids.end()),
                  image_ids.end());
  std::vector<int64_t> cat_ids = gt.category_ids;
  std::sort(cat_ids.begin(), cat_ids.end());
  cat_ids.erase(std::unique(cat_ids.begin(), cat_ids.end()), cat_ids.end());
  absl::flat_hash_map<int64_t, int32_t> image_index, cat_index;
  for (size_t i = 0; i < image_ids.size(); ++i) image_index[image_ids[i]] = i;
  for (size_t k = 0; k < cat_ids.size(); ++k) cat_index[cat_ids[k]] = k;
  const int64_t num_images = image_ids.size();
  const int64_t num_cats = cat_ids.size();

  // Group by (category, image), keeping file order inside a group.
  auto key = [&](int32_t k, int32_t i) { return int64_t{k} * num_images + i; };
  absl::flat_hash_map<int64_t, std::vector<int32_t>> gts_of, dts_of;
  for (size_t j = 0; j < gt.boxes.size(); ++j) {
    const GtBox& g = gt.boxes[j];
    auto ii = image_index.find(g.image_id);
    auto kk = cat_index.find(g.category_id);
    if (ii == image_index.end() || kk == cat_index.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ground truth box ", j, ": image ", g.image_id, " or category ",
          g.category_id, " is not in the ground truth's lists"));
    }
    gts_of[key(kk->second, ii->second)].push_back(j);
  }
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
    dts_of[key(kk->second, ii->second)].push_back(j);
  }

  const std::array<double, kT> iou_thr = IouThresholds();
  const std::array<double, kR> rec_thr = RecallPoints();

  // Per category: the images that have ground truth or detections of it.
  std::vector<std::vector<int32_t>> images_of_cat(num_cats);
  {
    std::vector<int64_t> keys;
    keys.reserve(gts_of.size() + dts_of.size());
    for (const auto& [k, v] : gts_of) keys.push_back(k);
    for (const auto& [k, v] : dts_of) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (int64_t k : keys) {
      images_of_cat[k / num_images].push_back(k % num_images);
    }
  }

  // precision [t][r][k][a][m], recall [t][k][a][m]; -1 = no ground truth.
  std::vector<double> precision(size_t{kT} * kR * num_cats * kA * kM, -1.0);
  std::vector<double> recall(size_t{kT} * num_cats * kA * kM, -1.0);
  auto pidx = [&](int t, int r, int64_t k, int a, int m) {
    return (((size_t{static_cast<size_t>(t)} * kR + r) * num_cats + k) * kA +
            a) *
               kM +
           m;
  };
  auto ridx = [&](int t, int64_t k, int a, int m) {
    return ((size_t{static_cast<size_t>(t)} * num_cats + k) * kA + a) * kM + m;
  };

  std::vector<ImageResult> results;  // per image of the category, per area
  std::vector<double> ious;
  std::vector<int32_t> dt_order, gt_order;
  std::vector<uint8_t> gt_ignore, gt_matched;
  for (int64_t k = 0; k < num_cats; ++k) {
    const std::vector<int32_t>& imgs = images_of_cat[k];
    results.assign(imgs.size() * kA, ImageResult());
    for (size_t n = 0; n < imgs.size(); ++n) {
      const int64_t kk = key(k, imgs[n]);
      static const std::vector<int32_t> kEmpty;
      auto git = gts_of.find(kk);
      auto dit = dts_of.find(kk);
      const std::vector<int32_t>& g =
          git == gts_of.end() ? kEmpty : git->second;
      const std::vector<int32_t>& d =
          dit == dts_of.end() ? kEmpty : dit->second;
      // Detections by score, stable, at most 100.
      dt_order.assign(d.begin(), d.end());
      std::stable_sort(
          dt_order.begin(), dt_order.end(),
          [&](int32_t a, int32_t b) { return dets[a].score > dets[b].score; });
      if (dt_order.size() > 100) dt_order.resize(100);
      const size_t nd = dt_order.size(), ng = g.size();
      ious.assign(nd * ng, 0.0);
      for (size_t a = 0; a < nd; ++a) {
        for (size_t b = 0; b < ng; ++b) {
          ious[a * ng + b] = Iou(dets[dt_order[a]], gt.boxes[g[b]]);
        }
      }
      for (int ar = 0; ar < kA; ++ar) {
        const double lo = kAreaRange[ar][0], hi = kAreaRange[ar][1];
        ImageResult& res = results[n * kA + ar];
        gt_ignore.assign(ng, 0);
        for (size_t b = 0; b < ng; ++b) {
          const GtBox& box = gt.boxes[g[b]];
          gt_ignore[b] = box.iscrowd || box.area < lo || box.area > hi;
          res.num_gt_not_ignored += gt_ignore[b] == 0;
        }
        gt_order.resize(ng);
        std::iota(gt_order.begin(), gt_order.end(), 0);
        std::stable_sort(
            gt_order.begin(), gt_order.end(),
            [&](int32_t a, int32_t b) { return gt_ignore[a] < gt_ignore[b]; });
        res.scores.resize(nd);
        for (size_t a = 0; a < nd; ++a) res.scores[a] = dets[dt_order[a]].score;
        res.matched.assign(kT * nd, 0);
        res.ignored.assign(kT * nd, 0);
        for (int t = 0; t < kT; ++t) {
          gt_matched.assign(ng, 0);
          for (size_t a = 0; a < nd; ++a) {
            double best = std::min(iou_thr[t], 1 - 1e-10);
            int64_t m = -1;
            for (size_t s = 0; s < ng; ++s) {
              const int32_t b = gt_order[s];
              if (gt_matched[s] && !gt.boxes[g[b]].iscrowd) continue;
              if (m > -1 && gt_ignore[gt_order[m]] == 0 && gt_ignore[b] == 1) {
                break;
              }
              const double v = ious[a * ng + b];
              if (v < best) continue;
              best = v;
              m = s;
            }
            if (m == -1) continue;
            res.ignored[t * nd + a] = gt_ignore[gt_order[m]];
            res.matched[t * nd + a] = 1;
            gt_matched[m] = 1;
          }
          for (size_t a = 0; a < nd; ++a) {
            const Detection& det = dets[dt_order[a]];
            const double area = det.w * det.h;
            if (!res.matched[t * nd + a] && (area < lo || area > hi)) {
              res.ignored[t * nd + a] = 1;
            }
          }
        }
      }
    }

    // Accumulate over images (in image id order) for each area and maxDet.
    std::vector<std::pair<double, std::pair<int32_t, int32_t>>> pool;
    std::vector<double> pr;
    std::vector<double> rc;
    for (int ar = 0; ar < kA; ++ar) {
      for (int mi = 0; mi < kM; ++mi) {
        const size_t max_det = kMaxDets[mi];
        pool.clear();
        int64_t npig = 0;
        for (size_t n = 0; n < imgs.size(); ++n) {
          const ImageResult& res = results[n * kA + ar];
          npig += res.num_gt_not_ignored;
          const size_t take = std::min(max_det, res.scores.size());
          for (size_t a = 0; a < take; ++a) {
            pool.push_back(
                {res.scores[a],
                 {static_cast<int32_t>(n), static_cast<int32_t>(a)}});
          }
        }
        if (npig == 0) continue;
        std::stable_sort(
            pool.begin(), pool.end(),
            [](const auto& x, const auto& y) { return x.first > y.first; });
        // The reference keeps ignored detections in its cumulative arrays
        // with unchanged counts; leaving them out gives the same envelope
        // and the same searchsorted samples, so they are skipped here.
        for (int t = 0; t < kT; ++t) {
          double tp = 0, fp = 0;
          pr.clear();
          rc.clear();
          for (const auto& [score, where] : pool) {
            const ImageResult& res = results[where.first * kA + ar];
            const size_t at = t * res.scores.size() + where.second;
            if (res.ignored[at]) continue;
            if (res.matched[at]) {
              tp += 1;
            } else {
              fp += 1;
            }
            rc.push_back(tp / static_cast<double>(npig));
            pr.push_back(tp / (fp + tp + 2.220446049250313e-16));
          }
          recall[ridx(t, k, ar, mi)] = rc.empty() ? 0.0 : rc.back();
          for (size_t i = pr.size(); i-- > 1;) {
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          }
          size_t pi = 0;
          for (int r = 0; r < kR; ++r) {
            while (pi < rc.size() && rc[pi] < rec_thr[r]) ++pi;
            precision[pidx(t, r, k, ar, mi)] = pi < rc.size() ? pr[pi] : 0.0;
          }
        }
      }
    }
  }

  // Summaries: means over the entries > -1; -1 when there are none.
  auto mean_precision = [&](int t_only, int ar, int mi, int64_t k_only) {
    double sum = 0;
    int64_t n = 0;
    for (int t = 0; t < kT; ++t) {
      if (t_only >= 0 && t != t_only) continue;
      for (int r = 0; r < kR; ++r) {
        for (int64_t k = 0; k < num_cats; ++k) {
          if (k_only >= 0 && k != k_only) continue;
          const double v = precision[pidx(t, r, k, ar, mi)];
          if (v > -1) {
            sum += v;
            ++n;
          }
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
        const double v = recall[ridx(t, k, ar, mi)];
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
  out.stats = {mean_precision(-1, 0, 2, -1),
               mean_precision(0, 0, 2, -1),
               mean_precision(5, 0, 2, -1),
               mean_precision(-1, 1, 2, -1),
               mean_precision(-1, 2, 2, -1),
               mean_precision(-1, 3, 2, -1),
               mean_recall(0, 0),
               mean_recall(0, 1),
               mean_recall(0, 2),
               mean_recall(1, 2),
               mean_recall(2, 2),
               mean_recall(3, 2)};
  for (int64_t k = 0; k < num_cats; ++k) {
    out.per_category_ap.push_back({cat_ids[k], mean_precision(-1, 0, 2, k)});
  }
  return out;
}

std::string FormatCocoStats(const std::array<double, 12>& s) {
  struct Line {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  static constexpr Line kLines[12] = {
      {true, "0.50:0.95", "all", 100},     {true, "0.50", "all", 100},
      {true, "0.75", "all", 100},          {true, "0.50:0.95", "small", 100},
      {true, "0.50:0.95", "medium", 100},  {true, "0.50:0.95", "large", 100},
      {false, "0.50:0.95", "all", 1},      {false, "0.50:0.95", "all", 10},
      {false, "0.50:0.95", "all", 100},    {false, "0.50:0.95", "small", 100},
      {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100}};
  std::string out;
  for (int i = 0; i < 12; ++i) {
    const Line& l = kLines[i];
    absl::StrAppendFormat(
        &out, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
        l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)",
        l.iou, l.area, l.max_dets, s[i]);
  }
  return out;
}

absl::Status WriteResultsJson(const std::string& path,
                              absl::Span<const Detection> dets) {
  std::string out = "[";
  for (size_t i = 0; i < dets.size(); ++i) {
    const Detection& d = dets[i];
    absl::StrAppendFormat(
        &out,
        "%s\n{\"image_id\": %d, \"category_id\": %d, \"bbox\": [%.17g, "
        "%.17g, %.17g, %.17g], \"score\": %.17g}",
        i == 0 ? "" : ",", d.image_id, d.category_id, d.x, d.y, d.w, d.h,
        d.score);
  }
  out += "\n]\n";
  return WriteFileAtomically(path, out);
}

}  // namespace sniper::evaluation
