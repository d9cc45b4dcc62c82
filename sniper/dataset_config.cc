#include "sniper/dataset_config.h"

#include "absl/strings/str_cat.h"
#include "port/field_path.h"
#include "port/status_macros.h"

namespace sniper {
namespace {

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return InvalidField("PipelineConfig", field, rule);
}

absl::Status ValidateSynthetic(const SyntheticDataConfig& s) {
  if (s.train_images() < 1 || s.val_images() < 1) {
    return Invalid("dataset.synthetic",
                   "train_images and val_images must be >= 1");
  }
  if (s.min_side() < 64 || s.max_side() < s.min_side()) {
    return Invalid("dataset.synthetic",
                   absl::StrCat("need 64 <= min_side <= max_side, got ",
                                s.min_side(), ", ", s.max_side()));
  }
  return absl::OkStatus();
}

absl::Status ValidateCoco(const CocoFilesConfig& f) {
  if (f.train_annotations().empty() || f.train_images().empty()) {
    return Invalid("dataset.coco", "set train_annotations and train_images");
  }
  if (f.val_annotations().empty() != f.val_images().empty()) {
    return Invalid("dataset.coco",
                   "set both val_annotations and val_images, or neither");
  }
  return absl::OkStatus();
}

absl::Status ValidateVoc(const data::VocDatasetConfig& v) {
  if (v.root().empty()) {
    return Invalid("dataset.voc",
                   "set root (the directory holding Annotations/, "
                   "ImageSets/Main/ and JPEGImages/)");
  }
  if (v.train_split().empty()) {
    return Invalid("dataset.voc.train_split", "must not be empty");
  }
  if (v.val_split() == v.train_split()) {
    return Invalid("dataset.voc.val_split",
                   absl::StrCat("is the training split '", v.train_split(),
                                "'; evaluate on another"));
  }
  return absl::OkStatus();
}

absl::Status ValidateYolo(const data::YoloDatasetConfig& y) {
  if (y.train_images().empty()) {
    return Invalid("dataset.yolo",
                   "set train_images (e.g. <dataset>/images/train)");
  }
  if (y.names_file().empty() == (y.class_names_size() == 0)) {
    return Invalid("dataset.yolo",
                   "set exactly one of names_file (data.yaml or one name per "
                   "line) and class_names");
  }
  if (y.val_images() == y.train_images()) {
    return Invalid("dataset.yolo.val_images",
                   "is the training directory; evaluate on another");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDatasetConfig(const DatasetConfig& d) {
  switch (d.source_case()) {
    case DatasetConfig::kSynthetic:
      RETURN_IF_ERROR(ValidateSynthetic(d.synthetic()));
      break;
    case DatasetConfig::kCoco:
      RETURN_IF_ERROR(ValidateCoco(d.coco()));
      break;
    case DatasetConfig::kVoc:
      RETURN_IF_ERROR(ValidateVoc(d.voc()));
      break;
    case DatasetConfig::kYolo:
      RETURN_IF_ERROR(ValidateYolo(d.yolo()));
      break;
    case DatasetConfig::SOURCE_NOT_SET:
      return Invalid("dataset",
                     "set one of synthetic {}, coco {...}, voc {...}, "
                     "yolo {...}");
  }
  if (d.max_train_images() < 0 || d.max_val_images() < 0) {
    return Invalid("dataset",
                   "max_train_images and max_val_images must be >= 0");
  }
  return absl::OkStatus();
}

void ResolveDatasetPaths(
    const std::function<std::string(const std::string&)>& absolute,
    DatasetConfig* d) {
  auto resolve = [&](std::string* path) {
    if (!path->empty()) *path = absolute(*path);
  };
  if (d->has_coco()) {
    CocoFilesConfig* f = d->mutable_coco();
    resolve(f->mutable_train_annotations());
    resolve(f->mutable_train_images());
    resolve(f->mutable_val_annotations());
    resolve(f->mutable_val_images());
  } else if (d->has_voc()) {
    resolve(d->mutable_voc()->mutable_root());
  } else if (d->has_yolo()) {
    data::YoloDatasetConfig* y = d->mutable_yolo();
    resolve(y->mutable_train_images());
    resolve(y->mutable_val_images());
    resolve(y->mutable_names_file());
  }
}

bool HasValidationSplit(const DatasetConfig& d) {
  switch (d.source_case()) {
    case DatasetConfig::kSynthetic:
      return true;
    case DatasetConfig::kCoco:
      return !d.coco().val_annotations().empty();
    case DatasetConfig::kVoc:
      return !d.voc().val_split().empty();
    case DatasetConfig::kYolo:
      return !d.yolo().val_images().empty();
    case DatasetConfig::SOURCE_NOT_SET:
      break;
  }
  return false;
}

const char* DatasetFormatName(const DatasetConfig& d) {
  switch (d.source_case()) {
    case DatasetConfig::kSynthetic:
      return "synthetic";
    case DatasetConfig::kCoco:
      return "coco";
    case DatasetConfig::kVoc:
      return "voc";
    case DatasetConfig::kYolo:
      return "yolo";
    case DatasetConfig::SOURCE_NOT_SET:
      break;
  }
  return "none";
}

}  // namespace sniper
