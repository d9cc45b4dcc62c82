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
  auto dets = ev::ParseDetectionsJson(json, "fuzz_results.json");
  if (dets.ok() && dets->size() < 5000) {
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
      mirror.boxes.push_back(g);
    }
    (void)ev::EvaluateBoxes(mirror, *dets);
  }
  return 0;
}
