// File: data/yolo_dataset.h
//
// YOLO text labels (Ultralytics and darknet) read into a CocoDataset
// (data/coco_dataset.h):
//
//   <dir>/images/train/a.jpg    the images (searched recursively)
//   <dir>/labels/train/a.txt    a line per box: class cx cy w h, the
//                               centre and size divided by the image's
//                               width and height
//
// An image's size comes from its file's header (JPEG or PNG, nothing
// decoded). A box is (cx - w/2) * width ... in COCO's [x, y, w, h]. YOLO
// has no ignore flag, so every box is an ordinary one. Errors name the file
// and line, e.g. "labels/train/a.txt:3: class 7 out of range (4 classes)";
// a label file without an image, an image without a label file (unless
// YoloDatasetConfig.missing_labels_are_empty), an image format the decoder
// cannot read, and polygon (segmentation) label lines are errors. An empty
// label file is an image without objects, kept.
#ifndef SNIPER_DATA_YOLO_DATASET_H_
#define SNIPER_DATA_YOLO_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/coco_dataset.h"
#include "data/dataset_formats.pb.h"

namespace sniper::data {

struct YoloLabel {
  int32_t label = 0;
  double cx = 0, cy = 0, w = 0, h = 0;  // normalised by the image size
  int line = 0;
};

// Parses one label file's text; classes must be below `num_classes`.
absl::StatusOr<std::vector<YoloLabel>> ParseYoloLabels(absl::string_view text,
                                                       absl::string_view source,
                                                       int32_t num_classes);

// Where Ultralytics looks for an image's labels: the path with its last
// "/images/" replaced by "/labels/" (unchanged without one) and the
// extension by ".txt".
std::string YoloLabelPath(absl::string_view image_path);

// The class names of `config`: class_names, or those of names_file
// (data/class_names.h).
absl::StatusOr<std::vector<std::string>> YoloClassNames(
    const YoloDatasetConfig& config);

// Reads the images under `image_dir` (file names relative to it, sorted)
// with their labels. `options` gives the out-of-image tolerance and what
// an invalid box does.
absl::StatusOr<CocoDataset> ReadYoloSplit(
    const YoloDatasetConfig& config, const std::string& image_dir,
    absl::Span<const std::string> class_names,
    const CocoReaderOptions& options);

}  // namespace sniper::data

#endif  // SNIPER_DATA_YOLO_DATASET_H_
