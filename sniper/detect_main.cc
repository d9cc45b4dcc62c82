// bazel run //sniper:detect -- --checkpoint=run/detector/final.pt
//     --image=in.jpg [--out=out.png]
// bazel run //sniper:detect -- --checkpoint=... --image=photos/ --out=dets/
//
// Multi-scale inference (sniper/inference.h) with a trained detector, using
// the config saved in its checkpoint (--set overrides inference settings,
// e.g. --set eval.merge=SOFT_NMS --set eval.max_tile_side=2048). One image:
// draws the boxes with class names and scores (and, from a model with the
// mask branch, their masks) into --out. A directory:
// every .jpg/.jpeg/.png in it, pictures into --out/<name>.png, and
// --out/detections.json (COCO results; RLE segmentations with masks) with
// --out/images.json giving each image id's file. --autofocus_map=PATH (one
// image) runs AutoFocus (eval.autofocus, ../shared/docs/AUTOFOCUS.md) and also
// draws, per scale, its focus map, the windows it ran in and the FocusChips it
// chose.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "evaluation/coco_eval.h"
#include "glog/logging.h"
#include "port/json_writer.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/checkpoint.h"
#include "sniper/cli.h"
#include "sniper/config.h"
#include "sniper/device.h"
#include "sniper/image_results.h"
#include "sniper/inference.h"

ABSL_FLAG(std::string, checkpoint, "", "a detector checkpoint (final.pt)");
ABSL_FLAG(std::string, image, "", "an image file, or a directory of images");
ABSL_FLAG(std::string, out, "",
          "image: the PNG to write (default detections.png); directory: the "
          "output directory (default detections/)");
ABSL_FLAG(double, score_threshold, 0.5,
          "draw detections scoring at least this");
ABSL_FLAG(std::string, autofocus_map, "",
          "one image: run AutoFocus and draw its focus maps and FocusChips "
          "per scale into this PNG");
ABSL_FLAG(std::string, device, "",
          "cpu, cuda, cuda:N (default: CUDA if present)");

namespace fs = std::filesystem;

namespace {

bool IsImage(const fs::path& p) {
  const std::string ext = absl::AsciiStrToLower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

absl::Status Run(std::vector<std::string> sets) {
  const std::string ckpt =
      sniper::ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  const std::string input = sniper::ResolveUserPath(absl::GetFlag(FLAGS_image));
  if (ckpt.empty() || input.empty()) {
    return absl::InvalidArgumentError("--checkpoint and --image are required");
  }
  ASSIGN_OR_RETURN(sniper::CheckpointInfo info,
                   sniper::ReadCheckpointInfo(ckpt));
  sniper::PipelineConfig config;
  RETURN_IF_ERROR(sniper::ParseTextProto(
      info.config_text, absl::StrCat(ckpt, " (config)"), &config));
  const std::string focus_png =
      sniper::ResolveUserPath(absl::GetFlag(FLAGS_autofocus_map));
  if (!focus_png.empty())
    config.mutable_eval()->mutable_autofocus()->set_enabled(true);
  for (const std::string& s : sets) {
    RETURN_IF_ERROR(sniper::ApplyAssignment(s, &config));
  }
  ASSIGN_OR_RETURN(sniper::Pipeline p, sniper::BuildPipeline(config));
  ASSIGN_OR_RETURN(torch::Device device,
                   sniper::ResolveDevice(absl::GetFlag(FLAGS_device)));
  sniper::models::FasterRcnn model(p.model);
  RETURN_IF_ERROR(sniper::LoadCheckpointWeights(ckpt, model, device));
  // A model trained in FP16 detects in FP32 where there is no CUDA.
  const sniper::PipelineConfig::Precision precision =
      p.config.precision() == sniper::PipelineConfig::FP16 && !device.is_cuda()
          ? sniper::PipelineConfig::FP32
          : p.config.precision();
  ASSIGN_OR_RETURN(const std::optional<c10::ScalarType> autocast,
                   sniper::AutocastType(precision, device));

  // The images, as a dataset without boxes.
  const bool is_dir = fs::is_directory(input);
  std::vector<fs::path> files;
  if (is_dir) {
    for (const auto& e : fs::directory_iterator(input)) {
      if (e.is_regular_file() && IsImage(e.path())) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      return absl::NotFoundError(
          absl::StrCat(input, ": no .jpg/.jpeg/.png files"));
    }
  } else {
    files.push_back(input);
  }
  if (!focus_png.empty() && is_dir) {
    return absl::InvalidArgumentError(
        "--autofocus_map draws one image: give --image a file");
  }
  const std::string image_dir =
      is_dir ? input : fs::path(input).parent_path().string();
  std::vector<sniper::data::CocoImage> images;
  for (size_t i = 0; i < files.size(); ++i) {
    sniper::data::DecodeRequest probe;
    probe.scale = 0.125;  // only the size is needed
    ASSIGN_OR_RETURN(
        sniper::data::DecodedRegion r,
        sniper::data::DecodeImageFileRegion(files[i].string(), probe));
    sniper::data::CocoImage im;
    im.id = static_cast<int64_t>(i) + 1;
    im.width = r.full_width;
    im.height = r.full_height;
    im.file_name = files[i].filename().string();
    images.push_back(im);
  }
  const std::vector<std::string>& names = info.category_names;
  std::vector<sniper::data::CocoCategory> cats;
  for (int64_t k = 0; k < p.model.num_classes; ++k) {
    sniper::data::CocoCategory c;
    c.id = k < static_cast<int64_t>(info.category_ids.size())
               ? info.category_ids[k]
               : k + 1;
    c.name = k < static_cast<int64_t>(names.size()) ? names[k]
                                                    : absl::StrCat("class", k);
    cats.push_back(c);
  }
  sniper::data::CocoDatasetBuilder builder(input);
  builder.SetCategories(cats);
  for (const sniper::data::CocoImage& im : images) builder.AddImage(im);
  ASSIGN_OR_RETURN(const sniper::data::CocoDataset ds,
                   std::move(builder).Build());

  sniper::MultiScaleDetector detector(std::move(model), p.eval, p.loader.render,
                                      device, autocast);
  std::string out = sniper::ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (out.empty()) out = is_dir ? "detections" : "detections.png";
  if (is_dir) {
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out=", out, ": --image is a directory, so --out must be one too (",
          ec ? ec.message() : "it is an existing file", ")"));
    }
  }
  std::vector<sniper::evaluation::Detection> all;
  double network_seconds = 0;
  sniper::JsonWriter images_json(/*break_depth=*/1);
  images_json.BeginArray();
  for (size_t i = 0; i < files.size(); ++i) {
    ASSIGN_OR_RETURN(sniper::PreparedImage views,
                     detector.Prepare(ds, image_dir, i));
    std::vector<std::vector<sniper::FocusStep>> trace;
    const auto start = std::chrono::steady_clock::now();
    const sniper::ImageDetections d =
        detector.RunBatch({&views}, focus_png.empty() ? nullptr : &trace)[0];
    network_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const size_t first = all.size();
    sniper::AppendCocoDetections(d, images[i], cats, &all);
    sniper::data::DecodeRequest full;
    full.reduce = false;
    ASSIGN_OR_RETURN(
        sniper::data::DecodedRegion r,
        sniper::data::DecodeImageFileRegion(files[i].string(), full));
    if (!focus_png.empty()) {
      RETURN_IF_ERROR(sniper::data::WritePngFile(
          focus_png,
          sniper::DrawFocusTrace(r.image, trace[0], p.model.anchors.stride)));
      std::printf("AutoFocus: %s\n", focus_png.c_str());
    }
    const int drawn = sniper::DrawCocoDetections(
        &r.image, {all.data() + first, all.size() - first}, cats,
        static_cast<float>(absl::GetFlag(FLAGS_score_threshold)));
    const std::string png =
        is_dir ? (fs::path(out) / (files[i].stem().string() + ".png")).string()
               : out;
    RETURN_IF_ERROR(sniper::data::WritePngFile(png, r.image));
    std::printf("%s: %lld detections, %d drawn (score >= %.2f) -> %s\n",
                files[i].filename().c_str(),
                static_cast<long long>(d.boxes.size(0)), drawn,
                absl::GetFlag(FLAGS_score_threshold), png.c_str());
    images_json.BeginObject();
    images_json.Key("id").Int(images[i].id);
    images_json.Key("file_name").String(images[i].file_name);
    images_json.Key("width").Int(images[i].width);
    images_json.Key("height").Int(images[i].height);
    images_json.EndObject();
  }
  // What inference cost: network pixels (canvases) per image per scale.
  const double n = static_cast<double>(files.size());
  std::string cost = absl::StrFormat(
      "%s: %d images, %.2f s/image in the network (decode and resample "
      "excluded), %.3f M network pixels per image (",
      p.eval.autofocus ? "AutoFocus" : "every scale over the whole image",
      files.size(), network_seconds / n, detector.pixels_run() / n / 1e6);
  for (size_t k = 0; k < detector.pixels_per_scale().size(); ++k) {
    absl::StrAppendFormat(&cost, "%sscale %d: %.3f M in %.2f views",
                          k ? ", " : "", k,
                          detector.pixels_per_scale()[k] / n / 1e6,
                          detector.views_per_scale()[k] / n);
  }
  std::printf("%s)\n", cost.c_str());
  if (is_dir) {
    RETURN_IF_ERROR(sniper::evaluation::WriteResultsJson(
        (fs::path(out) / "detections.json").string(), all));
    RETURN_IF_ERROR(
        sniper::WriteFileAtomically((fs::path(out) / "images.json").string(),
                                    images_json.EndArray().Finish()));
    std::printf(
        "COCO results: %s/detections.json (image ids: %s/images.json)\n",
        out.c_str(), out.c_str());
  }
  return absl::OkStatus();
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> sets = sniper::InitCli(
      &argc, argv,
      "Detects objects with a trained SNIPER detector.\n"
      "  bazel run //sniper:detect -- --checkpoint=final.pt --image=in.jpg "
      "--out=out.png\n"
      "  bazel run //sniper:detect -- --checkpoint=final.pt --image=dir/ "
      "--out=dets/");
  const absl::Status s = Run(sets);
  if (!s.ok()) return sniper::FailWith(s);
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
