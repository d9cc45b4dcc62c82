#include "evaluation/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/json_writer.h"
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

  // Group by (category, image) with a counting sort, keeping file order
  // inside a group (the reference's order).
  const int64_t num_keys = num_cats * num_images;
  auto key = [&](int64_t k, int64_t i) { return k * num_images + i; };
  std::vector<int64_t> gt_key(gt.boxes.size()), dt_key(dets.size());
  for (size_t j = 0; j < gt.boxes.size(); ++j) {
    const GtBox& g = gt.boxes[j];
    auto ii = image_index.find(g.image_id);
    auto kk = cat_index.find(g.category_id);
    if (ii == image_index.end() || kk == cat_index.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ground truth box ", j, ": image ", g.image_id, " or category ",
          g.category_id, " is not in the ground truth's lists"));
    }
    gt_key[j] = key(kk->second, ii->second);
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
    dt_key[j] = key(kk->second, ii->second);
  }
  auto group = [num_keys](const std::vector<int64_t>& keys,
                          std::vector<int32_t>* start,
                          std::vector<int32_t>* order) {
    start->assign(num_keys + 1, 0);
    for (int64_t k : keys) ++(*start)[k + 1];
    for (int64_t k = 0; k < num_keys; ++k) (*start)[k + 1] += (*start)[k];
    order->resize(keys.size());
    std::vector<int32_t> fill(start->begin(), start->end() - 1);
    for (size_t j = 0; j < keys.size(); ++j) {
      (*order)[fill[keys[j]]++] = static_cast<int32_t>(j);
    }
  };
  std::vector<int32_t> gt_start, gt_sorted, dt_start, dt_sorted;
  group(gt_key, &gt_start, &gt_sorted);
  group(dt_key, &dt_start, &dt_sorted);

  const std::array<double, kT> iou_thr = IouThresholds();
  const std::array<double, kR> rec_thr = RecallPoints();

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

  // Per category, reused: the detections kept per image (score order, at
  // most 100) laid end to end, their rank in their image, and per (area
  // range, threshold) whether each matched and whether it is ignored.
  struct Kept {
    double score;
    int32_t pos;   // into the category's arrays
    int32_t rank;  // within its image
  };
  std::vector<Kept> pool;
  std::vector<uint8_t> matched, ignored;
  std::vector<double> ious, pr, rc;
  std::vector<int32_t> dt_order, gt_order;
  std::vector<uint8_t> gt_ignore, gt_matched;
  for (int64_t k = 0; k < num_cats; ++k) {
    const int32_t d_begin = dt_start[key(k, 0)];
    const int32_t d_end = dt_start[key(k, num_images)];
    // Capacity: detections of the category, at most 100 per image.
    pool.clear();
    const size_t cap = static_cast<size_t>(d_end - d_begin);
    matched.assign(size_t{kA} * kT * cap, 0);
    ignored.assign(size_t{kA} * kT * cap, 0);
    std::array<int64_t, kA> npig{};
    bool any = false;
    for (int64_t i = 0; i < num_images; ++i) {
      const int64_t kk = key(k, i);
      const int32_t* g = gt_sorted.data() + gt_start[kk];
      const size_t ng = gt_start[kk + 1] - gt_start[kk];
      const int32_t* d = dt_sorted.data() + dt_start[kk];
      const size_t all_d = dt_start[kk + 1] - dt_start[kk];
      if (ng == 0 && all_d == 0) continue;
      any = true;
      dt_order.assign(d, d + all_d);
      std::stable_sort(
          dt_order.begin(), dt_order.end(),
          [&](int32_t a, int32_t b) { return dets[a].score > dets[b].score; });
      const size_t nd = std::min<size_t>(dt_order.size(), 100);
      const int32_t base = static_cast<int32_t>(pool.size());
      for (size_t a = 0; a < nd; ++a) {
        pool.push_back({dets[dt_order[a]].score, base + static_cast<int32_t>(a),
                        static_cast<int32_t>(a)});
      }
      ious.assign(nd * ng, 0.0);
      for (size_t a = 0; a < nd; ++a) {
        for (size_t b = 0; b < ng; ++b) {
          ious[a * ng + b] = Iou(dets[dt_order[a]], gt.boxes[g[b]]);
        }
      }
      for (int ar = 0; ar < kA; ++ar) {
        const double lo = kAreaRange[ar][0], hi = kAreaRange[ar][1];
        gt_ignore.resize(ng);
        gt_order.clear();
        for (size_t b = 0; b < ng; ++b) {
          const GtBox& box = gt.boxes[g[b]];
          gt_ignore[b] = box.iscrowd || box.area < lo || box.area > hi;
          if (!gt_ignore[b]) gt_order.push_back(static_cast<int32_t>(b));
        }
        npig[ar] += gt_order.size();
        for (size_t b = 0; b < ng; ++b) {
          if (gt_ignore[b]) gt_order.push_back(static_cast<int32_t>(b));
        }
        for (int t = 0; t < kT; ++t) {
          uint8_t* mt = matched.data() +
                        (size_t{static_cast<size_t>(ar)} * kT + t) * cap + base;
          uint8_t* ig = ignored.data() +
                        (size_t{static_cast<size_t>(ar)} * kT + t) * cap + base;
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
            if (m >= 0) {
              ig[a] = gt_ignore[gt_order[m]];
              mt[a] = 1;
              gt_matched[m] = 1;
            } else {
              const Detection& det = dets[dt_order[a]];
              const double area = det.w * det.h;
              ig[a] = area < lo || area > hi;
            }
          }
        }
      }
    }
    if (!any) continue;

    // Accumulate over images (in image id order: the pool's order) for
    // each area range and maxDets. One stable sort by score serves every
    // maxDets: keeping the detections of rank < maxDets in the sorted
    // order is the stable sort of the kept ones.
    std::stable_sort(
        pool.begin(), pool.end(),
        [](const Kept& x, const Kept& y) { return x.score > y.score; });
    for (int ar = 0; ar < kA; ++ar) {
      if (npig[ar] == 0) continue;
      for (int mi = 0; mi < kM; ++mi) {
        const int32_t max_det = kMaxDets[mi];
        // The reference keeps ignored detections in its cumulative arrays
        // with unchanged counts; leaving them out gives the same envelope
        // and the same searchsorted samples, so they are skipped here.
        for (int t = 0; t < kT; ++t) {
          const uint8_t* mt =
              matched.data() + (size_t{static_cast<size_t>(ar)} * kT + t) * cap;
          const uint8_t* ig =
              ignored.data() + (size_t{static_cast<size_t>(ar)} * kT + t) * cap;
          double tp = 0, fp = 0;
          pr.clear();
          rc.clear();
          for (const Kept& e : pool) {
            if (e.rank >= max_det || ig[e.pos]) continue;
            if (mt[e.pos]) {
              tp += 1;
            } else {
              fp += 1;
            }
            rc.push_back(tp / static_cast<double>(npig[ar]));
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
  JsonWriter json(/*break_depth=*/1);  // one detection per line
  json.BeginArray();
  for (const Detection& d : dets) {
    json.BeginObject();
    json.Key("image_id").Int(d.image_id).Key("category_id").Int(d.category_id);
    json.Key("bbox").BeginArray();
    json.Double(d.x).Double(d.y).Double(d.w).Double(d.h);
    json.EndArray();
    json.Key("score").Double(d.score);
    json.EndObject();
  }
  json.EndArray();
  return WriteFileAtomically(path, json.Finish());
}

}  // namespace sniper::evaluation
