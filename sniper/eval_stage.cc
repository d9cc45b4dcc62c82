#include "sniper/eval_stage.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "evaluation/coco_eval.h"
#include "evaluation/coco_json.h"
#include "evaluation/voc_ap.h"
#include "inference/detector.h"
#include "port/json_writer.h"
#include "port/prefetcher.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/device.h"
#include "sniper/event_writer.h"
#include "sniper/image_results.h"
#include "sniper/metrics.h"
#include "viz/draw.h"

namespace sniper {
namespace {

// What the stage measured: for eval_stats.json, the log and TensorBoard.
struct EvalReport {
  evaluation::CocoEvalResult boxes;
  std::optional<evaluation::CocoEvalResult> masks;
  // Pascal VOC's AP at IoU 0.5 (all points; ignore regions skipped).
  evaluation::VocApResult voc;
  int64_t images = 0, detections = 0;
  double seconds = 0;
  inference::InferenceCost cost;  // network pixels and views per image

  double images_per_s() const { return images / std::max(seconds, 1e-9); }
};

absl::Status DrawDetections(const EvalStageOptions& o, const Split& val,
                            const std::vector<evaluation::Detection>& dets,
                            RunLog& log) {
  const data::CocoDataset& ds = *val.dataset;
  const data::CocoImage& im = ds.image(0);
  data::DecodeRequest request;
  request.reduce = false;
  ASSIGN_OR_RETURN(
      data::DecodedRegion region,
      data::DecodeImageFileRegion(
          absl::StrCat(val.image_dir, "/", im.file_name), request));
  data::RgbImage image = std::move(region.image);
  // Ground truth thin and white, detections thick in their class colour.
  for (const data::BoxXYWH& b : ds.boxes_of(0)) {
    viz::DrawRect(&image, static_cast<int>(b.x), static_cast<int>(b.y),
                  static_cast<int>(b.x + b.w), static_cast<int>(b.y + b.h),
                  {255, 255, 255}, 1);
  }
  const int drawn =
      DrawCocoDetections(&image, dets, ds.categories(), o.draw_score_threshold);
  const std::string path = o.out_dir + "/detections.png";
  RETURN_IF_ERROR(data::WritePngFile(path, image));
  log.Line(absl::StrCat("[eval] ", drawn,
                        " detections (score >= ", o.draw_score_threshold,
                        ") of ", im.file_name, " drawn to ", path));
  return absl::OkStatus();
}

// The ground truth as the reference API reads it (raw boxes, the area
// field; masks for segm), restricted to the images evaluated. Pascal VOC and
// YOLO splits (no JSON): the dataset's boxes, area w * h, VOC's difficult
// objects as crowd regions.
absl::StatusOr<evaluation::EvalGroundTruth> GroundTruthOf(const Split& val,
                                                          bool with_masks) {
  const data::CocoDataset& ds = *val.dataset;
  if (val.annotations.empty()) return evaluation::GroundTruthFromDataset(ds);
  ASSIGN_OR_RETURN(
      evaluation::EvalGroundTruth gt,
      evaluation::ReadGroundTruthJson(val.annotations, with_masks));
  if (gt.image_ids.size() != ds.num_images()) {
    std::vector<int64_t> ids;
    for (const data::CocoImage& im : ds.images()) ids.push_back(im.id);
    evaluation::KeepImages(ids, &gt);
  }
  return gt;
}

// Every image of `val` through the detector, the next batch decoded and
// resampled while the network runs on this one.
absl::StatusOr<std::vector<evaluation::Detection>> DetectAll(
    inference::MultiScaleDetector& detector, const EvalStageOptions& o,
    const Split& val, const RunEnv& env) {
  const data::CocoDataset& ds = *val.dataset;
  const size_t n = ds.num_images();
  const size_t batch = static_cast<size_t>(detector.images_per_batch());
  using inference::PreparedImage;
  Prefetcher<std::vector<PreparedImage>> batches(
      static_cast<int64_t>((n + batch - 1) / batch),
      [&](int64_t k) -> absl::StatusOr<std::vector<PreparedImage>> {
        std::vector<PreparedImage> out;
        for (size_t i = k * batch; i < std::min((k + 1) * batch, n); ++i) {
          ASSIGN_OR_RETURN(
              PreparedImage views,
              detector.Prepare(inference::ImageOf(ds, val.image_dir, i)));
          out.push_back(std::move(views));
        }
        return out;
      });
  const Clock::time_point start = Clock::now();
  std::vector<evaluation::Detection> all;
  for (size_t first_image = 0; first_image < n; first_image += batch) {
    ASSIGN_OR_RETURN(std::vector<PreparedImage> prepared, batches.Next());
    std::vector<const PreparedImage*> pointers;
    for (const PreparedImage& im : prepared) pointers.push_back(&im);
    const std::vector<inference::ImageDetections> results =
        detector.RunBatch(pointers);
    for (size_t j = 0; j < results.size(); ++j) {
      const size_t i = first_image + j;
      const size_t first = all.size();
      AppendCocoDetections(results[j], ds.image(i), ds.categories(), &all);
      if (i == 0 && o.draw_example) {
        RETURN_IF_ERROR(
            DrawDetections(o, val, {all.begin() + first, all.end()}, *env.log));
      }
      if ((i + 1) % 25 == 0 || i + 1 == n) {
        env.log->Progress(absl::StrFormat("[eval] %d/%d images  %.2f images/s",
                                          i + 1, n, (i + 1) / Seconds(start)));
      }
    }
  }
  return all;
}

absl::Status WriteEvalStats(const std::string& path, const EvalReport& r,
                            const data::CocoDataset& ds) {
  JsonWriter json;
  json.BeginObject().Key("stats").BeginArray();
  for (double v : r.boxes.stats) json.Double(v);
  json.EndArray().Key("per_category_ap").BeginObject();
  for (const auto& [id, ap] : r.boxes.per_category_ap) {
    json.Key(ds.categories()[ds.LabelOfCategory(id)].name).Double(ap);
  }
  json.EndObject();
  json.Key("voc_ap50").Double(r.voc.mean_ap);
  if (r.masks.has_value()) {
    json.Key("segm_stats").BeginArray();
    for (double v : r.masks->stats) json.Double(v);
    json.EndArray();
  }
  json.Key("autofocus").Bool(r.cost.autofocus);
  json.Key("images_per_s").Double(r.images_per_s());
  json.Key("pixels_per_image").Double(r.cost.pixels_per_image);
  json.Key("pixels_per_image_per_scale").BeginArray();
  for (double v : r.cost.pixels_per_scale) json.Double(v);
  json.EndArray();
  json.Key("views_per_image_per_scale").BeginArray();
  for (double v : r.cost.views_per_scale) json.Double(v);
  json.EndArray();
  json.EndObject();
  return WriteFileAtomically(path, json.Finish());
}

// The 12 lines, without the last newline.
std::string StatsTable(const std::array<double, 12>& stats) {
  std::string table = evaluation::FormatCocoStats(stats);
  if (!table.empty() && table.back() == '\n') table.pop_back();
  return table;
}

void LogEvalReport(const EvalReport& r, const data::CocoDataset& ds,
                   RunLog& log) {
  log.Line(absl::StrFormat(
      "[eval] %d images, %d detections in %s (%.2f images/s); COCO box "
      "metrics on the validation split:",
      r.images, r.detections, FormatDuration(r.seconds), r.images_per_s()));
  log.Line("[eval] " + inference::FormatInferenceCost(r.cost));
  log.Line(StatsTable(r.boxes.stats));
  std::string per_cat = "[eval] AP per category:";
  for (const auto& [id, ap] : r.boxes.per_category_ap) {
    absl::StrAppendFormat(&per_cat, "  %s %.3f",
                          ds.categories()[ds.LabelOfCategory(id)].name, ap);
  }
  log.Line(per_cat);
  log.Line(absl::StrFormat(
      "[eval] Pascal VOC AP50 (all points, ignore regions neither hit nor "
      "miss): %.3f",
      r.voc.mean_ap));
  if (r.masks.has_value()) {
    log.Line("[eval] COCO mask (segm) metrics on the validation split:");
    log.Line(StatsTable(r.masks->stats));
  }
}

// TensorBoard scalars eval/AP, ... (and eval/segm_AP, ...) at step 0.
absl::Status WriteEvalScalars(const EvalReport& r, EventWriter& events) {
  Metrics m;
  for (int k = 0; k < 12; ++k) {
    m.Set(evaluation::kCocoStatNames[k], r.boxes.stats[k]);
  }
  m.Set("voc_AP50", r.voc.mean_ap);
  if (r.masks.has_value()) {
    for (int k = 0; k < 12; ++k) {
      m.Set(absl::StrCat("segm_", evaluation::kCocoStatNames[k]),
            r.masks->stats[k]);
    }
  }
  return TensorBoardSink(events).Log("eval", 0, m);
}

// Detections scored: the report, and detections_val.json written.
absl::StatusOr<EvalReport> Evaluate(
    const EvalStageOptions& o, const Split& val,
    const inference::MultiScaleDetector& detector,
    const std::vector<evaluation::Detection>& all) {
  EvalReport r;
  // One read of the ground truth, with masks when the model predicts them
  // (the box evaluation ignores them).
  ASSIGN_OR_RETURN(const evaluation::EvalGroundTruth gt,
                   GroundTruthOf(val, o.model.has_mask()));
  ASSIGN_OR_RETURN(r.boxes, evaluation::EvaluateBoxes(gt, all));
  ASSIGN_OR_RETURN(r.voc, evaluation::EvaluateVocAp(gt, all));
  if (o.model.has_mask()) {
    ASSIGN_OR_RETURN(r.masks, evaluation::EvaluateMasks(gt, all));
  }
  RETURN_IF_ERROR(
      evaluation::WriteResultsJson(o.out_dir + "/detections_val.json", all));
  r.images = static_cast<int64_t>(val.dataset->num_images());
  r.detections = static_cast<int64_t>(all.size());
  r.cost = detector.Cost(r.images);
  return r;
}

}  // namespace

absl::StatusOr<StageSummary> RunEvalStage(const EvalStageOptions& options,
                                          const Split& val, const RunEnv& env) {
  StageSummary summary;
  summary.stage = Stage::kEval;
  if (env.rank() != 0) {
    summary.skipped = true;  // rank 0 evaluates
    return summary;
  }
  ASSIGN_OR_RETURN(models::FasterRcnn model,
                   LoadStageModel(options.checkpoint, Stage::kDetector,
                                  options.model, env.device));
  ASSIGN_OR_RETURN(inference::MultiScaleDetector detector,
                   inference::MultiScaleDetector::Create(
                       std::move(model), options.inference, options.render,
                       env.device, env.autocast));
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(const std::vector<evaluation::Detection> all,
                   DetectAll(detector, options, val, env));
  const double seconds = Seconds(start);
  ASSIGN_OR_RETURN(EvalReport report, Evaluate(options, val, detector, all));
  report.seconds = seconds;
  RETURN_IF_ERROR(WriteEvalStats(options.out_dir + "/eval_stats.json", report,
                                 *val.dataset));
  LogEvalReport(report, *val.dataset, *env.log);
  if (env.events != nullptr) {
    RETURN_IF_ERROR(WriteEvalScalars(report, *env.events));
  }
  summary.images = report.images;
  summary.seconds = seconds;
  summary.coco_stats.assign(report.boxes.stats.begin(),
                            report.boxes.stats.end());
  summary.voc_ap50 = report.voc.mean_ap;
  if (report.masks.has_value()) {
    summary.mask_stats.assign(report.masks->stats.begin(),
                              report.masks->stats.end());
  }
  return summary;
}

absl::StatusOr<RunSummary> EvaluateRun(const Pipeline& p,
                                       const RunOptions& options) {
  ASSIGN_OR_RETURN(const torch::Device device, ResolveDevice(p.config));
  RunSession session(device);
  RETURN_IF_ERROR(CreateWorkDir(p.work_dir));
  SessionOptions so;
  so.what = "eval";
  so.log_path = p.work_dir + "/train.log";
  so.progress = options.progress;
  so.events = true;
  RETURN_IF_ERROR(session.Start(p, so));
  ASSIGN_OR_RETURN(const Datasets data, LoadDatasets(p.dataset, session.log()));
  EvalStageOptions eval = p.eval_stage;
  if (!options.checkpoint.empty()) eval.checkpoint = options.checkpoint;
  RunSummary run;
  run.work_dir = p.work_dir;
  ASSIGN_OR_RETURN(StageSummary s,
                   RunEvalStage(eval, data.val_split(), session.env()));
  run.stages.push_back(std::move(s));
  return run;
}

}  // namespace sniper
