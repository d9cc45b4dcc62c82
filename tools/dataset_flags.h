// File: tools/dataset_flags.h
//
// The dataset a command-line tool reads, named by one of three flag sets:
//   --annotations=instances.json [--images=DIR]   COCO JSON
//   --voc_root=VOC2007 [--voc_split=trainval]     Pascal VOC
//   --yolo_images=d/images/train --yolo_names=d/data.yaml   YOLO labels
// Paths are relative to the user's directory under `bazel run`.
#ifndef SNIPER_TOOLS_DATASET_FLAGS_H_
#define SNIPER_TOOLS_DATASET_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "data/coco_dataset.h"

namespace sniper::tools {

struct ToolDataset {
  data::CocoDataset dataset;
  // The images' file names are relative to it; empty for COCO JSON without
  // --images.
  std::string image_dir;
  std::string description;  // e.g. "Pascal VOC /d/VOC2007 (trainval)"
};

// InvalidArgument listing the dataset flags unless exactly one of
// --annotations, --voc_root and --yolo_images is set (with --yolo_names
// for YOLO): a usage error, for tools to exit with 2.
absl::Status CheckDatasetFlags();

// The dataset the flags name (CheckDatasetFlags first).
absl::StatusOr<ToolDataset> DatasetFromFlags(
    const data::CocoReaderOptions& reader);

// The help text's lines for these flags.
inline constexpr char kDatasetFlagsUsage[] =
    "  --annotations=instances.json [--images=DIR]         COCO JSON\n"
    "  --voc_root=VOC2007 [--voc_split=trainval]          Pascal VOC\n"
    "  --yolo_images=d/images/train --yolo_names=d/data.yaml  YOLO labels\n";

}  // namespace sniper::tools

#endif  // SNIPER_TOOLS_DATASET_FLAGS_H_
