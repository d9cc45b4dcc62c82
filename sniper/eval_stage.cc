#include "sniper/eval_stage.h"

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "evaluation/coco_eval.h"
#include "evaluation/coco_json.h"
#include "port/json_writer.h"
#include "port/prefetcher.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/device.h"
#include "sniper/event_writer.h"
#include "sniper/image_results.h"
#include "sniper/inference.h"
#include "sniper/metrics.h"
#include "viz/draw.h"

namespace sniper {
namespace {

absl::Status DrawDetections(const StageContext& ctx, size_t image_index,
                            const std::vector<evaluation::Detection>& dets,
                            const std::string& path) {
  const data::CocoDataset& ds = ctx.data.val;
  const data::CocoImage& im = ds.image(image_index);
  data::DecodeRequest request;
  request.reduce = false;
  ASSIGN_OR_RETURN(
      data::DecodedRegion region,
      data::DecodeImageFileRegion(
          absl::StrCat(ctx.data.val_images, "/", im.file_name), request));
  data::RgbImage image = std::move(region.image);
  const float threshold = ctx.p.config.eval().draw_score_threshold();
  // Ground truth thin and white, detections thick in their class colour.
  for (const data::BoxXYWH& b : ds.boxes_of(image_index)) {
    viz::DrawRect(&image, static_cast<int>(b.x), static_cast<int>(b.y),
                  static_cast<int>(b.x + b.w), static_cast<int>(b.y + b.h),
                  {255, 255, 255}, 1);
  }
  const int drawn =
      DrawCocoDetections(&image, dets, ds.categories(), threshold);
  RETURN_IF_ERROR(data::WritePngFile(path, image));
  ctx.log.Line(absl::StrCat("[eval] ", drawn,
                            " detections (score >= ", threshold, ") of ",
                            im.file_name, " drawn to ", path));
  return absl::OkStatus();
}

// The ground truth as the reference API reads it (raw boxes, the area
// field; masks for segm), restricted to the images evaluated.
absl::StatusOr<evaluation::EvalGroundTruth> GroundTruthOf(
    const StageContext& ctx, bool with_masks) {
  const data::CocoDataset& ds = ctx.data.val;
  ASSIGN_OR_RETURN(
      evaluation::EvalGroundTruth gt,
      evaluation::ReadGroundTruthJson(ctx.data.val_json, with_masks));
  if (gt.image_ids.size() != ds.num_images()) {
    std::vector<int64_t> ids;
    for (const data::CocoImage& im : ds.images()) ids.push_back(im.id);
    evaluation::KeepImages(ids, &gt);
  }
  return gt;
}

}  // namespace

absl::StatusOr<StageSummary> RunEvalStage(StageContext& ctx) {
  const Pipeline& p = ctx.p;
  StageSummary summary;
  summary.stage = Stage::kEval;
  if (ctx.rank != 0) {
    summary.skipped = true;  // rank 0 evaluates
    return summary;
  }
  ASSIGN_OR_RETURN(models::FasterRcnn model,
                   LoadFinalModel(ctx, Stage::kDetector, p.model));
  MultiScaleDetector detector(std::move(model), p.eval, p.loader.render,
                              ctx.device, ctx.autocast);
  const data::CocoDataset& ds = ctx.data.val;
  const Clock::time_point start = Clock::now();
  // Decode and resample the next batch of images while the network runs on
  // this one.
  const size_t n = ds.num_images();
  const size_t batch = static_cast<size_t>(p.eval.batch_size);
  Prefetcher<std::vector<PreparedImage>> batches(
      static_cast<int64_t>((n + batch - 1) / batch),
      [&](int64_t k) -> absl::StatusOr<std::vector<PreparedImage>> {
        std::vector<PreparedImage> out;
        for (size_t i = k * batch; i < std::min((k + 1) * batch, n); ++i) {
          ASSIGN_OR_RETURN(PreparedImage views,
                           detector.Prepare(ds, ctx.data.val_images, i));
          out.push_back(std::move(views));
        }
        return out;
      });
  std::vector<evaluation::Detection> all;
  for (size_t first_image = 0; first_image < n; first_image += batch) {
    ASSIGN_OR_RETURN(std::vector<PreparedImage> prepared, batches.Next());
    std::vector<const PreparedImage*> pointers;
    for (const PreparedImage& im : prepared) pointers.push_back(&im);
    const std::vector<ImageDetections> results = detector.RunBatch(pointers);
    for (size_t j = 0; j < results.size(); ++j) {
      const size_t i = first_image + j;
      const size_t first = all.size();
      AppendCocoDetections(results[j], ds.image(i), ds.categories(), &all);
      ++summary.images;
      if (i == 0 && p.config.eval().draw_example()) {
        RETURN_IF_ERROR(DrawDetections(ctx, 0, {all.begin() + first, all.end()},
                                       p.work_dir + "/detections.png"));
      }
      if ((i + 1) % 25 == 0 || i + 1 == n) {
        const double dt = Seconds(start);
        ctx.log.Progress(absl::StrFormat("[eval] %d/%d images  %.2f images/s",
                                         i + 1, n, (i + 1) / dt));
      }
    }
  }
  summary.seconds = Seconds(start);
  // One read of the ground truth, with masks when the model predicts them
  // (the box evaluation ignores them).
  ASSIGN_OR_RETURN(evaluation::EvalGroundTruth gt,
                   GroundTruthOf(ctx, p.model.has_mask()));
  ASSIGN_OR_RETURN(evaluation::CocoEvalResult result,
                   evaluation::EvaluateBoxes(gt, all));
  summary.coco_stats.assign(result.stats.begin(), result.stats.end());
  std::optional<evaluation::CocoEvalResult> segm;
  if (p.model.has_mask()) {
    ASSIGN_OR_RETURN(segm, evaluation::EvaluateMasks(gt, all));
    summary.mask_stats.assign(segm->stats.begin(), segm->stats.end());
  }
  RETURN_IF_ERROR(
      evaluation::WriteResultsJson(p.work_dir + "/detections_val.json", all));
  // Network pixels (canvases, padding to 32 included) per image.
  const double images = std::max<double>(1, summary.images);
  std::vector<double> pixels_per_scale;
  for (int64_t px : detector.pixels_per_scale()) {
    pixels_per_scale.push_back(px / images);
  }
  JsonWriter json;
  json.BeginObject().Key("stats").BeginArray();
  for (int k = 0; k < 12; ++k) json.Double(result.stats[k]);
  json.EndArray().Key("per_category_ap").BeginObject();
  for (const auto& [id, ap] : result.per_category_ap) {
    json.Key(ds.categories()[ds.LabelOfCategory(id)].name).Double(ap);
  }
  json.EndObject();
  if (segm.has_value()) {
    json.Key("segm_stats").BeginArray();
    for (int k = 0; k < 12; ++k) json.Double(segm->stats[k]);
    json.EndArray();
  }
  json.Key("autofocus").Bool(p.eval.autofocus);
  json.Key("images_per_s")
      .Double(summary.images / std::max(summary.seconds, 1e-9));
  json.Key("pixels_per_image").Double(detector.pixels_run() / images);
  json.Key("pixels_per_image_per_scale").BeginArray();
  for (double v : pixels_per_scale) json.Double(v);
  json.EndArray();
  json.Key("views_per_image_per_scale").BeginArray();
  for (int64_t v : detector.views_per_scale()) json.Double(v / images);
  json.EndArray();
  json.EndObject();
  RETURN_IF_ERROR(
      WriteFileAtomically(p.work_dir + "/eval_stats.json", json.Finish()));
  ctx.log.Line(absl::StrFormat(
      "[eval] %d images, %d detections in %s (%.2f images/s); COCO box "
      "metrics on the validation split:",
      summary.images, all.size(), FormatDuration(summary.seconds),
      summary.images / std::max(summary.seconds, 1e-9)));
  std::string pixels = absl::StrFormat(
      "[eval] %s: %.3f M network pixels per image (",
      p.eval.autofocus ? "AutoFocus" : "every scale over the whole image",
      detector.pixels_run() / images / 1e6);
  for (size_t k = 0; k < pixels_per_scale.size(); ++k) {
    absl::StrAppendFormat(&pixels, "%sscale %d: %.3f M in %.2f views",
                          k ? ", " : "", k, pixels_per_scale[k] / 1e6,
                          detector.views_per_scale()[k] / images);
  }
  ctx.log.Line(pixels + ")");
  std::string table = evaluation::FormatCocoStats(result.stats);
  if (!table.empty() && table.back() == '\n') table.pop_back();
  ctx.log.Line(table);
  std::string per_cat = "[eval] AP per category:";
  for (const auto& [id, ap] : result.per_category_ap) {
    absl::StrAppendFormat(&per_cat, "  %s %.3f",
                          ds.categories()[ds.LabelOfCategory(id)].name, ap);
  }
  ctx.log.Line(per_cat);
  if (segm.has_value()) {
    ctx.log.Line("[eval] COCO mask (segm) metrics on the validation split:");
    std::string segm_table = evaluation::FormatCocoStats(segm->stats);
    if (!segm_table.empty() && segm_table.back() == '\n') segm_table.pop_back();
    ctx.log.Line(segm_table);
  }
  if (ctx.events != nullptr) {
    const auto& kNames = evaluation::kCocoStatNames;
    Metrics m;
    for (int k = 0; k < 12; ++k) m.Set(kNames[k], result.stats[k]);
    if (segm.has_value()) {
      for (int k = 0; k < 12; ++k) {
        m.Set(absl::StrCat("segm_", kNames[k]), segm->stats[k]);
      }
    }
    RETURN_IF_ERROR(TensorBoardSink(*ctx.events).Log("eval", 0, m));
  }
  return summary;
}

absl::StatusOr<RunSummary> EvaluateRun(const Pipeline& p,
                                       const RunOptions& options) {
  ASSIGN_OR_RETURN(const torch::Device device, ResolveDevice(p.config));
  std::optional<c10::DeviceGuard> device_guard;
  if (device.is_cuda()) device_guard.emplace(device);
  RETURN_IF_ERROR(CreateWorkDir(p.work_dir));
  RunLog log(p.work_dir + "/train.log", options.progress);
  const int threads = SetComputeThreads(p, 1);
  ASSIGN_OR_RETURN(const std::optional<c10::ScalarType> autocast,
                   AutocastType(p.config.precision(), device));
  log.Line(RunHeader("eval", p, device, threads));
  ASSIGN_OR_RETURN(Datasets data, LoadDatasets(p, log));
  ASSIGN_OR_RETURN(std::unique_ptr<EventWriter> events,
                   EventWriter::Create(p.work_dir));
  StageContext ctx{p, options, log, data, device, autocast, events.get()};
  RunSummary run;
  run.work_dir = p.work_dir;
  ASSIGN_OR_RETURN(StageSummary s, RunEvalStage(ctx));
  run.stages.push_back(std::move(s));
  return run;
}

}  // namespace sniper
