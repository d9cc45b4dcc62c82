#include "tools/dataset_flags.h"

#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "data/voc_dataset.h"
#include "data/yolo_dataset.h"
#include "port/paths.h"
#include "port/status_macros.h"

ABSL_FLAG(std::string, annotations, "", "COCO instances JSON.");
ABSL_FLAG(std::string, images, "",
          "Directory of a COCO JSON's image files (tools that read pixels).");
ABSL_FLAG(std::string, voc_root, "",
          "Pascal VOC directory (Annotations/, ImageSets/Main/, "
          "JPEGImages/).");
ABSL_FLAG(std::string, voc_split, "trainval",
          "Pascal VOC split: ImageSets/Main/<split>.txt.");
ABSL_FLAG(std::string, yolo_images, "",
          "YOLO image directory; labels under the matching labels/ "
          "directory.");
ABSL_FLAG(std::string, yolo_names, "",
          "YOLO class names: data.yaml or one name per line.");

namespace sniper::tools {

absl::Status CheckDatasetFlags() {
  const bool coco = !absl::GetFlag(FLAGS_annotations).empty();
  const bool voc = !absl::GetFlag(FLAGS_voc_root).empty();
  const bool yolo = !absl::GetFlag(FLAGS_yolo_images).empty();
  if (coco + voc + yolo != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name the dataset with exactly one of --annotations, --voc_root and "
        "--yolo_images:\n",
        kDatasetFlagsUsage));
  }
  if (yolo && absl::GetFlag(FLAGS_yolo_names).empty()) {
    return absl::InvalidArgumentError(
        "--yolo_images needs --yolo_names (data.yaml or one name per line)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ToolDataset> DatasetFromFlags(
    const data::CocoReaderOptions& reader) {
  RETURN_IF_ERROR(CheckDatasetFlags());
  const std::string coco = ResolveUserPath(absl::GetFlag(FLAGS_annotations));
  const std::string voc = ResolveUserPath(absl::GetFlag(FLAGS_voc_root));
  const std::string yolo = ResolveUserPath(absl::GetFlag(FLAGS_yolo_images));
  ToolDataset out;
  if (!coco.empty()) {
    ASSIGN_OR_RETURN(out.dataset, data::ReadCocoInstances(coco, reader));
    out.image_dir = ResolveUserPath(absl::GetFlag(FLAGS_images));
    out.description = absl::StrCat("COCO JSON ", coco);
  } else if (!voc.empty()) {
    data::VocDatasetConfig config;
    config.set_root(voc);
    const std::string split = absl::GetFlag(FLAGS_voc_split);
    ASSIGN_OR_RETURN(out.dataset,
                     data::ReadVocSplit(config, split, {}, reader));
    out.image_dir = data::VocImageDir(config);
    out.description = absl::StrCat("Pascal VOC ", voc, " (", split, ")");
  } else {
    data::YoloDatasetConfig config;
    config.set_train_images(yolo);
    config.set_names_file(ResolveUserPath(absl::GetFlag(FLAGS_yolo_names)));
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     data::YoloClassNames(config));
    ASSIGN_OR_RETURN(out.dataset,
                     data::ReadYoloSplit(config, yolo, names, reader));
    out.image_dir = yolo;
    out.description = absl::StrCat("YOLO labels of ", yolo);
  }
  return out;
}

}  // namespace sniper::tools
