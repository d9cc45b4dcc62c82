#include "data/yolo_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "data/class_names.h"
#include "data/image_decode.h"
#include "glog/logging.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::data {
namespace {

namespace fs = std::filesystem;

enum class FileKind { kImage, kUnreadableImage, kOther };

// By extension: what the decoder reads (JPEG, PNG), image formats it does
// not, and everything else (caches, notes), which is left alone.
FileKind KindOf(const fs::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") return FileKind::kImage;
  for (const char* other : {".bmp", ".tif", ".tiff", ".webp", ".gif", ".dng",
                            ".mpo", ".pfm", ".heic"}) {
    if (ext == other) return FileKind::kUnreadableImage;
  }
  return FileKind::kOther;
}

// Image paths under `dir`, relative to it, sorted.
absl::StatusOr<std::vector<std::string>> ListImages(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": not a directory (the YOLO image directory)"));
  }
  std::vector<std::string> images;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    switch (KindOf(it->path())) {
      case FileKind::kImage:
        images.push_back(it->path().lexically_relative(dir).string());
        break;
      case FileKind::kUnreadableImage:
        return absl::InvalidArgumentError(absl::StrCat(
            it->path().string(),
            ": image format not read (JPEG and PNG are; convert it)"));
      case FileKind::kOther:
        break;
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat(dir, ": cannot list (", ec.message(), ")"));
  }
  if (images.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": no .jpg, .jpeg or .png images"));
  }
  std::sort(images.begin(), images.end());
  return images;
}

// Every .txt under the label directories of `image_paths` must be one of
// their label files (the names file excepted).
absl::Status CheckNoOrphanLabels(const std::string& image_dir,
                                 const absl::flat_hash_set<std::string>& labels,
                                 const std::string& names_file) {
  const fs::path root =
      fs::path(YoloLabelPath(image_dir + "/x.jpg")).parent_path();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return absl::OkStatus();
  const std::string names =
      names_file.empty() ? "" : fs::weakly_canonical(names_file, ec).string();
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".txt") continue;
    const std::string path = it->path().lexically_normal().string();
    if (labels.contains(path)) continue;
    if (!names.empty() && fs::weakly_canonical(it->path(), ec) == names) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": label file without an image (no .jpg, .jpeg or .png of the "
        "same name under ",
        image_dir, ")"));
  }
  return absl::OkStatus();
}

absl::Status AddBoxes(const std::vector<YoloLabel>& boxes,
                      const std::string& label_path, const CocoImage& image,
                      const CocoReaderOptions& options,
                      CocoDatasetBuilder& builder, CocoLoadStats& stats,
                      int64_t& next_id) {
  for (const YoloLabel& b : boxes) {
    ++stats.annotations;
    double box[4] = {(b.cx - b.w / 2) * image.width,
                     (b.cy - b.h / 2) * image.height, b.w * image.width,
                     b.h * image.height};
    bool clipped = false;
    const std::string problem = ClipBoxToImage(
        box, image.width, image.height, options.out_of_image_tolerance,
        absl::StrCat("image ", image.file_name), &clipped);
    if (clipped) ++stats.clipped_boxes;
    if (!problem.empty()) {
      if (options.invalid_box_policy == InvalidBoxPolicy::kError) {
        return absl::InvalidArgumentError(
            absl::StrCat(label_path, ":", b.line, ": ", problem));
      }
      ++stats.skipped_invalid_boxes;
      continue;
    }
    CocoAnnotation a;
    a.box = {static_cast<float>(box[0]), static_cast<float>(box[1]),
             static_cast<float>(box[2]), static_cast<float>(box[3])};
    a.label = b.label;
    a.id = next_id++;
    builder.AddAnnotation(std::move(a));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<YoloLabel>> ParseYoloLabels(absl::string_view text,
                                                       absl::string_view source,
                                                       int32_t num_classes) {
  std::vector<YoloLabel> labels;
  int line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    const std::vector<absl::string_view> f =
        absl::StrSplit(row, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (f.empty()) continue;
    auto error = [&](absl::string_view message) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line, ": ", message));
    };
    if (f.size() != 5) {
      return error(
          absl::StrCat(f.size(), " fields; expected 5 (class cx cy w h)",
                       f.size() > 5 ? " (polygon labels are not read)" : ""));
    }
    YoloLabel l;
    l.line = line;
    if (!absl::SimpleAtoi(f[0], &l.label)) {
      return error(
          absl::StrCat("class: expected an integer, got '", f[0], "'"));
    }
    if (l.label < 0 || l.label >= num_classes) {
      return error(absl::StrCat("class ", l.label, " out of range (",
                                num_classes, " classes)"));
    }
    double* v[4] = {&l.cx, &l.cy, &l.w, &l.h};
    static constexpr const char* kNames[4] = {"cx", "cy", "w", "h"};
    for (int k = 0; k < 4; ++k) {
      if (!absl::SimpleAtod(f[k + 1], v[k]) || !std::isfinite(*v[k])) {
        return error(absl::StrCat(kNames[k], ": expected a number, got '",
                                  f[k + 1], "'"));
      }
    }
    labels.push_back(l);
  }
  return labels;
}

std::string YoloLabelPath(absl::string_view image_path) {
  std::string path(image_path);
  const size_t at = path.rfind("/images/");
  if (at != std::string::npos) path.replace(at, 8, "/labels/");
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    path.resize(dot);
  }
  return path + ".txt";
}

absl::StatusOr<std::vector<std::string>> YoloClassNames(
    const YoloDatasetConfig& config) {
  if (config.class_names_size() > 0) {
    return std::vector<std::string>(config.class_names().begin(),
                                    config.class_names().end());
  }
  return ReadClassNamesFile(config.names_file());
}

absl::StatusOr<CocoDataset> ReadYoloSplit(
    const YoloDatasetConfig& config, const std::string& image_dir,
    absl::Span<const std::string> class_names,
    const CocoReaderOptions& options) {
  ASSIGN_OR_RETURN(std::vector<std::string> images, ListImages(image_dir));
  std::vector<CocoCategory> categories;
  for (size_t k = 0; k < class_names.size(); ++k) {
    categories.push_back({static_cast<int64_t>(k) + 1, class_names[k], ""});
  }
  CocoDatasetBuilder builder(image_dir);
  builder.SetCategories(std::move(categories));
  builder.Reserve(images.size(), images.size() * 4);
  CocoLoadStats stats;
  absl::flat_hash_set<std::string> label_paths;
  int64_t next_id = 1;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string image_path = image_dir + "/" + images[i];
    const std::string label_path = YoloLabelPath(image_path);
    label_paths.insert(fs::path(label_path).lexically_normal().string());
    std::string text;
    std::error_code ec;
    if (fs::exists(label_path, ec)) {
      RETURN_IF_ERROR(ReadFileToString(label_path, &text));
    } else if (!config.missing_labels_are_empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(image_path, ": no label file ", label_path,
                       " (an empty one marks an image without objects; or set "
                       "missing_labels_are_empty)"));
    }
    ASSIGN_OR_RETURN(std::vector<YoloLabel> boxes,
                     ParseYoloLabels(text, label_path,
                                     static_cast<int32_t>(class_names.size())));
    ASSIGN_OR_RETURN(ImageSize size, ReadImageFileSize(image_path));
    CocoImage image;
    image.id = static_cast<int64_t>(i) + 1;
    image.file_name = images[i];
    image.width = size.width;
    image.height = size.height;
    builder.AddImage(image);
    const int64_t kept_before = next_id;
    RETURN_IF_ERROR(
        AddBoxes(boxes, label_path, image, options, builder, stats, next_id));
    if (next_id == kept_before) ++stats.images_without_boxes;
  }
  RETURN_IF_ERROR(
      CheckNoOrphanLabels(image_dir, label_paths, config.names_file()));
  if (stats.skipped_invalid_boxes > 0) {
    LOG(WARNING) << image_dir << ": skipped " << stats.skipped_invalid_boxes
                 << " invalid boxes";
  }
  builder.SetStats(stats);
  return std::move(builder).Build();
}

}  // namespace sniper::data
