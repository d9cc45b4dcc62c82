// File: evaluation/coco_results.cc
//
// The evaluator's inputs and outputs that are not the evaluation itself:
// ground truth from a dataset, the printed summary, results files.
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evaluation/coco_eval.h"
#include "port/json_writer.h"
#include "port/proto_io.h"

namespace sniper::evaluation {

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

void KeepImages(absl::Span<const int64_t> image_ids, EvalGroundTruth* gt) {
  const absl::flat_hash_set<int64_t> kept(image_ids.begin(), image_ids.end());
  // image_sizes, when known, is parallel to image_ids: filtered with it.
  const bool sized = gt->image_sizes.size() == gt->image_ids.size();
  size_t out = 0;
  for (size_t i = 0; i < gt->image_ids.size(); ++i) {
    if (!kept.contains(gt->image_ids[i])) continue;
    gt->image_ids[out] = gt->image_ids[i];
    if (sized) gt->image_sizes[out] = gt->image_sizes[i];
    ++out;
  }
  gt->image_ids.resize(out);
  if (sized) gt->image_sizes.resize(out);
  std::vector<GtBox> boxes;
  for (GtBox& b : gt->boxes) {
    if (kept.contains(b.image_id)) boxes.push_back(std::move(b));
  }
  gt->boxes = std::move(boxes);
}

std::string FormatCocoSummary(absl::Span<const double> stats,
                              absl::string_view what) {
  if (stats.size() != 12) return "";
  std::string out(what);
  for (int k = 0; k < 6; ++k) {
    absl::StrAppendFormat(&out, "%s%s %.3f", k > 0 ? "  " : "",
                          kCocoStatNames[k], stats[k]);
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
    if (!d.mask.counts.empty()) {
      json.Key("segmentation").BeginObject();
      json.Key("size").BeginArray().Int(d.mask.height).Int(d.mask.width);
      json.EndArray();
      json.Key("counts").String(masks::ToCompressedString(d.mask));
      json.EndObject();
    }
    json.EndObject();
  }
  json.EndArray();
  return WriteFileAtomically(path, json.Finish());
}

}  // namespace sniper::evaluation
