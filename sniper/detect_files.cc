#include "sniper/detect_files.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "evaluation/coco_eval.h"
#include "port/json_writer.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/checkpoint.h"
#include "sniper/config.h"
#include "sniper/device.h"
#include "sniper/image_results.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;

bool IsImage(const fs::path& p) {
  const std::string ext = absl::AsciiStrToLower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The input's images: the file, or the directory's images in name order.
absl::StatusOr<std::vector<fs::path>> ImageFiles(const std::string& input) {
  if (!fs::is_directory(input)) return std::vector<fs::path>{input};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(input)) {
    if (e.is_regular_file() && IsImage(e.path())) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::NotFoundError(
        absl::StrCat(input, ": no .jpg/.jpeg/.png files"));
  }
  return files;
}

// The checkpoint's detector, ready to run, and its categories.
struct LoadedDetector {
  inference::MultiScaleDetector detector;
  std::vector<data::CocoCategory> categories;
};

// The categories by label: the checkpoint's ids and names where it has
// them, else 1, 2, ... and "class<k>".
std::vector<data::CocoCategory> Categories(const CheckpointInfo& info,
                                           int64_t num_classes) {
  std::vector<data::CocoCategory> cats;
  for (int64_t k = 0; k < num_classes; ++k) {
    data::CocoCategory c;
    c.id = k < static_cast<int64_t>(info.category_ids.size())
               ? info.category_ids[k]
               : k + 1;
    c.name = k < static_cast<int64_t>(info.category_names.size())
                 ? info.category_names[k]
                 : absl::StrCat("class", k);
    cats.push_back(c);
  }
  return cats;
}

absl::StatusOr<LoadedDetector> LoadDetector(const DetectFilesOptions& o) {
  ASSIGN_OR_RETURN(const CheckpointInfo info, ReadCheckpointInfo(o.checkpoint));
  PipelineConfig config;
  RETURN_IF_ERROR(ParseTextProto(
      info.config_text, absl::StrCat(o.checkpoint, " (config)"), &config));
  if (!o.autofocus_map.empty()) {
    config.mutable_eval()->mutable_autofocus()->set_enabled(true);
  }
  for (const std::string& s : o.sets) {
    RETURN_IF_ERROR(ApplyAssignment(s, &config));
  }
  ASSIGN_OR_RETURN(const Pipeline p, BuildPipeline(config));
  ASSIGN_OR_RETURN(const torch::Device device, ResolveDevice(o.device));
  models::FasterRcnn model(p.model);
  RETURN_IF_ERROR(LoadCheckpointWeights(o.checkpoint, model, device));
  // A model trained in FP16 detects in FP32 where there is no CUDA.
  const PipelineConfig::Precision precision =
      p.config.precision() == PipelineConfig::FP16 && !device.is_cuda()
          ? PipelineConfig::FP32
          : p.config.precision();
  ASSIGN_OR_RETURN(const std::optional<c10::ScalarType> autocast,
                   AutocastType(precision, device));
  ASSIGN_OR_RETURN(
      inference::MultiScaleDetector detector,
      inference::MultiScaleDetector::Create(std::move(model), p.eval,
                                            p.loader.render, device, autocast));
  return LoadedDetector{std::move(detector),
                        Categories(info, p.model.num_classes)};
}

// Where a directory's outputs go: made if missing, refused if a file.
absl::Status MakeOutDir(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--out=", out, ": --image is a directory, so --out must be one too (",
        ec ? ec.message() : "it is an existing file", ")"));
  }
  return absl::OkStatus();
}

// images.json: each image id's file and size.
std::string ImagesJson(const std::vector<data::CocoImage>& images) {
  JsonWriter json(/*break_depth=*/1);
  json.BeginArray();
  for (const data::CocoImage& im : images) {
    json.BeginObject();
    json.Key("id").Int(im.id);
    json.Key("file_name").String(im.file_name);
    json.Key("width").Int(im.width);
    json.Key("height").Int(im.height);
    json.EndObject();
  }
  return json.EndArray().Finish();
}

// The state of one DetectFiles call.
class FileDetector {
 public:
  FileDetector(const DetectFilesOptions& o, LoadedDetector loaded, bool is_dir,
               std::string out)
      : o_(o), loaded_(std::move(loaded)), is_dir_(is_dir), out_(out) {}

  // One image (`info`: its id and size in the results): its detections
  // kept for the results, its picture (and AutoFocus's) written.
  absl::StatusOr<DetectedFile> Detect(const inference::ImageSource& image,
                                      const data::CocoImage& info) {
    ASSIGN_OR_RETURN(const inference::PreparedImage views,
                     loaded_.detector.Prepare(image));
    std::vector<std::vector<inference::FocusStep>> trace;
    const auto start = std::chrono::steady_clock::now();
    const inference::ImageDetections d = loaded_.detector.RunBatch(
        {&views}, o_.autofocus_map.empty() ? nullptr : &trace)[0];
    report_.network_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const size_t first = all_.size();
    AppendCocoDetections(d, info, loaded_.categories, &all_);
    data::DecodeRequest full;
    full.reduce = false;
    ASSIGN_OR_RETURN(data::DecodedRegion r,
                     data::DecodeImageFileRegion(image.path, full));
    if (!o_.autofocus_map.empty()) {
      RETURN_IF_ERROR(data::WritePngFile(
          o_.autofocus_map, DrawFocusTrace(r.image, trace[0],
                                           loaded_.detector.feature_stride())));
      report_.autofocus_png = o_.autofocus_map;
    }
    DetectedFile f;
    f.name = fs::path(image.path).filename().string();
    f.detections = d.boxes.size(0);
    f.drawn = DrawCocoDetections(
        &r.image, {all_.data() + first, all_.size() - first},
        loaded_.categories, static_cast<float>(o_.score_threshold));
    f.png =
        is_dir_
            ? (fs::path(out_) / (fs::path(image.path).stem().string() + ".png"))
                  .string()
            : out_;
    RETURN_IF_ERROR(data::WritePngFile(f.png, r.image));
    return f;
  }

  // A directory's detections.json and images.json.
  absl::Status WriteResults(const std::vector<data::CocoImage>& images) {
    report_.results_json = (fs::path(out_) / "detections.json").string();
    report_.images_json = (fs::path(out_) / "images.json").string();
    RETURN_IF_ERROR(evaluation::WriteResultsJson(report_.results_json, all_));
    return WriteFileAtomically(report_.images_json, ImagesJson(images));
  }

  DetectFilesReport Finish(int64_t images) {
    report_.cost = loaded_.detector.Cost(images);
    return std::move(report_);
  }
  DetectFilesReport& report() { return report_; }

 private:
  const DetectFilesOptions& o_;
  LoadedDetector loaded_;
  const bool is_dir_;
  const std::string out_;
  std::vector<evaluation::Detection> all_;
  DetectFilesReport report_;
};

}  // namespace

absl::StatusOr<DetectFilesReport> DetectFiles(
    const DetectFilesOptions& o,
    const std::function<void(const DetectedFile&)>& on_file) {
  if (o.checkpoint.empty() || o.input.empty()) {
    return absl::InvalidArgumentError("--checkpoint and --image are required");
  }
  const bool is_dir = fs::is_directory(o.input);
  if (!o.autofocus_map.empty() && is_dir) {
    return absl::InvalidArgumentError(
        "--autofocus_map draws one image: give --image a file");
  }
  ASSIGN_OR_RETURN(LoadedDetector loaded, LoadDetector(o));
  ASSIGN_OR_RETURN(const std::vector<fs::path> files, ImageFiles(o.input));
  // Every file's size first: an unreadable one stops the run before any
  // output is written.
  std::vector<inference::ImageSource> sources;
  std::vector<data::CocoImage> images;
  for (size_t i = 0; i < files.size(); ++i) {
    ASSIGN_OR_RETURN(inference::ImageSource s,
                     inference::ImageOfFile(files[i].string()));
    data::CocoImage im;
    im.id = static_cast<int64_t>(i) + 1;
    im.width = s.width;
    im.height = s.height;
    im.file_name = files[i].filename().string();
    sources.push_back(std::move(s));
    images.push_back(std::move(im));
  }
  std::string out = o.out;
  if (out.empty()) out = is_dir ? "detections" : "detections.png";
  if (is_dir) RETURN_IF_ERROR(MakeOutDir(out));
  FileDetector detector(o, std::move(loaded), is_dir, out);
  for (size_t i = 0; i < sources.size(); ++i) {
    ASSIGN_OR_RETURN(DetectedFile f, detector.Detect(sources[i], images[i]));
    if (on_file) on_file(f);
    detector.report().files.push_back(std::move(f));
  }
  if (is_dir) RETURN_IF_ERROR(detector.WriteResults(images));
  return detector.Finish(static_cast<int64_t>(images.size()));
}

std::string FormatDetectCost(const DetectFilesReport& r) {
  const double n = std::max<double>(1, r.files.size());
  return absl::StrFormat(
      "%d images, %.2f s/image in the network (decode and resample "
      "excluded); %s",
      r.files.size(), r.network_seconds / n,
      inference::FormatInferenceCost(r.cost));
}

}  // namespace sniper
