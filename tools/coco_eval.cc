//   bazel run //tools:coco_eval -- --gt=instances_val2017.json
//       --dets=results.json [--iou_type=segm] [--json=stats.json]
//
// COCO box or mask evaluation (the reference COCO API's semantics,
// evaluation/coco_eval.h): prints the 12 summary numbers in the reference
// layout and optionally writes {"stats": [12 numbers]} to --json.
#include "evaluation/coco_eval.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evaluation/coco_json.h"
#include "port/json_writer.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "tools/tool_common.h"

ABSL_FLAG(std::string, gt, "", "ground truth: a COCO instances JSON");
ABSL_FLAG(std::string, dets, "",
          "detections: a COCO results JSON [{image_id, category_id, bbox, "
          "score}]");
ABSL_FLAG(std::string, iou_type, "bbox",
          "bbox, or segm (masks: the ground truth's segmentations, the "
          "results' RLE segmentation)");
ABSL_FLAG(std::string, json, "",
          "also write {\"stats\": [AP, AP50, ..., ARl]} here");

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv,
      "COCO box or mask evaluation: --gt=instances.json --dets=results.json "
      "[--iou_type=bbox|segm] [--json=stats.json]");
  const std::string gt_path = sniper::ResolveUserPath(absl::GetFlag(FLAGS_gt));
  const std::string dets_path =
      sniper::ResolveUserPath(absl::GetFlag(FLAGS_dets));
  if (gt_path.empty() || dets_path.empty()) {
    return Fail(absl::InvalidArgumentError("--gt and --dets are required"));
  }
  const std::string iou_type = absl::GetFlag(FLAGS_iou_type);
  if (iou_type != "bbox" && iou_type != "segm") {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--iou_type must be bbox or segm, got \"", iou_type, "\"")));
  }
  const bool segm = iou_type == "segm";
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<sniper::evaluation::EvalGroundTruth> gt =
      sniper::evaluation::ReadGroundTruthJson(gt_path, segm);
  if (!gt.ok()) return Fail(gt.status());
  absl::StatusOr<std::vector<sniper::evaluation::Detection>> dets =
      sniper::evaluation::ReadDetectionsJson(dets_path, segm);
  if (!dets.ok()) return Fail(dets.status());
  const auto t1 = std::chrono::steady_clock::now();
  absl::StatusOr<sniper::evaluation::CocoEvalResult> r =
      segm ? sniper::evaluation::EvaluateMasks(*gt, *dets)
           : sniper::evaluation::EvaluateBoxes(*gt, *dets);
  if (!r.ok()) {
    return Fail(
        absl::Status(r.status().code(),
                     absl::StrCat(dets_path, ": ", r.status().message())));
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::fputs(sniper::evaluation::FormatCocoStats(r->stats).c_str(), stdout);
  std::fprintf(stderr,
               "%lld images, %zu ground-truth boxes, %lld detections: read "
               "in %.3f s, evaluated in %.3f s\n",
               static_cast<long long>(r->num_images), gt->boxes.size(),
               static_cast<long long>(r->num_detections),
               std::chrono::duration<double>(t1 - t0).count(),
               std::chrono::duration<double>(t2 - t1).count());
  if (const std::string out = absl::GetFlag(FLAGS_json); !out.empty()) {
    sniper::JsonWriter json;
    json.BeginObject().Key("stats").BeginArray();
    for (int k = 0; k < 12; ++k) json.Double(r->stats[k]);
    json.EndArray().EndObject();
    const absl::Status s = sniper::WriteFileAtomically(
        sniper::ResolveUserPath(out), json.Finish());
    if (!s.ok()) return Fail(s);
  }
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
