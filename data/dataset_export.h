// File: data/dataset_export.h
//
// Writes a dataset (data/coco_dataset.h) in Pascal VOC's or YOLO's layout,
// the inverse of data/voc_dataset.h and data/yolo_dataset.h: what
// //tools:convert_dataset does and what the readers' round-trip tests
// check against. Images are symbolic links to the originals (nothing is
// copied); every file is written atomically (port/proto_io.h).
//
//   VOC:  <root>/Annotations/<stem>.xml, <root>/ImageSets/Main/<split>.txt,
//         <root>/JPEGImages/<file name> -> the image. Ignore (crowd) boxes
//         become <difficult>1</difficult>.
//   YOLO: <root>/images/<split>/<file name> -> the image,
//         <root>/labels/<split>/<stem>.txt, <root>/data.yaml (names as an
//         index map). YOLO has no ignore flag: crowd boxes are left out and
//         counted.
#ifndef SNIPER_DATA_DATASET_EXPORT_H_
#define SNIPER_DATA_DATASET_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "data/coco_dataset.h"

namespace sniper::data {

struct ExportOptions {
  // Significant digits of written coordinates. VOC: 0 writes whole pixels
  // (rounded), as VOC's own files have them.
  int digits = 9;
};

struct ExportStats {
  int64_t images = 0;
  int64_t boxes = 0;
  int64_t crowd_boxes_left_out = 0;  // YOLO only
};

// `image_dir` holds the dataset's images (their file_name is relative to
// it). File names must be unique by their last path component.
absl::Status WriteVocSplit(const CocoDataset& dataset,
                           const std::string& image_dir,
                           const std::string& root, const std::string& split,
                           const ExportOptions& options, ExportStats* stats);

absl::Status WriteYoloSplit(const CocoDataset& dataset,
                            const std::string& image_dir,
                            const std::string& root, const std::string& split,
                            const ExportOptions& options, ExportStats* stats);

}  // namespace sniper::data

#endif  // SNIPER_DATA_DATASET_EXPORT_H_
