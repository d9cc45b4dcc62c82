// libFuzzer target: the evaluator's readers (evaluation/coco_json.h) and,
// on what they accept, the evaluation itself: results read from the input
// are scored against ground truth made of the same boxes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "evaluation/coco_eval.h"
#include "evaluation/coco_json.h"

namespace ev = sniper::evaluation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  auto gt = ev::ParseGroundTruthJson(json, "fuzz_gt.json");
  if (gt.ok()) (void)ev::EvaluateBoxes(*gt, {});
  // Results as boxes and as masks (both of loadRes's forms), each scored
  // against ground truth mirroring them.
  for (const bool with_masks : {false, true}) {
    auto dets = ev::ParseDetectionsJson(json, "fuzz_results.json", with_masks);
    if (!dets.ok() || dets->size() >= 5000) continue;
    ev::EvalGroundTruth mirror;
    for (const ev::Detection& d : *dets) {
      mirror.image_ids.push_back(d.image_id);
      mirror.category_ids.push_back(d.category_id);
      ev::GtBox g;
      g.image_id = d.image_id;
      g.category_id = d.category_id;
      g.x = d.x;
      g.y = d.y;
      g.w = d.w;
      g.h = d.h;
      g.area = d.w * d.h;
      g.iscrowd = d.score < 0.1;
      g.mask = d.mask;
      mirror.boxes.push_back(g);
    }
    if (with_masks) {
      (void)ev::EvaluateMasks(mirror, *dets);
    } else {
      (void)ev::EvaluateBoxes(mirror, *dets);
    }
  }
  return 0;
}
