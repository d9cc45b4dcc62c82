// File: data/voc_dataset.h
//
// Pascal VOC's layout read into a CocoDataset (data/coco_dataset.h), so
// the chip sampler, loader, trainer and evaluator see VOC data exactly as
// they see COCO data:
//
//   <root>/ImageSets/Main/<split>.txt   one image id per line
//   <root>/Annotations/<id>.xml         <annotation>: <filename>, <size>,
//                                       an <object> per box
//   <root>/JPEGImages/<filename>        the image (file_name in the dataset)
//
// Coordinates: VOC numbers pixels from 1 and its boxes include both end
// pixels, so the box covering pixels xmin..xmax is [xmin - 1, xmax) in
// COCO's continuous coordinates (x = xmin - 1, w = xmax - xmin + 1).
// Fractional coordinates (written by some tools) are read as they are.
//
// XML is parsed by expat (libexpat1-dev). Every error names the file and
// the line, e.g.
//   "VOC2007/Annotations/000005.xml:31: object 3: bndbox/xmax: expected a
//    number, got 'abc'"
// and nothing half-read is returned. <difficult>1</difficult> objects are
// ignore regions (crowd in the dataset) unless
// VocDatasetConfig.difficult_as_ignore is false; <truncated> objects are
// ordinary boxes. An annotation without objects is an image without boxes,
// kept (negative chips come from such images).
#ifndef SNIPER_DATA_VOC_DATASET_H_
#define SNIPER_DATA_VOC_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/coco_dataset.h"
#include "data/dataset_formats.pb.h"

namespace sniper::data {

struct VocObject {
  std::string name;
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;  // VOC's 1-based pixels
  bool difficult = false;
  bool truncated = false;
  int line = 0;  // of its <object> element
};

// One Annotations/<id>.xml file.
struct VocAnnotation {
  std::string filename;  // <filename>; empty when absent
  int32_t width = 0;     // <size>; 0 when absent or 0
  int32_t height = 0;
  std::vector<VocObject> objects;
};

// Parses one annotation document; `source` (its path) starts every error.
absl::StatusOr<VocAnnotation> ParseVocXml(absl::string_view xml,
                                          absl::string_view source);

// Reads split `split` of the dataset at `config.root()`. `class_names`
// fixes the labels (an object naming another class is an error); empty:
// the split's own object names, sorted. Images whose annotation has no
// <size> (or a zero one) get the size their image file's header declares.
// `options` gives the out-of-image tolerance and what an invalid box does
// (its keep_segmentations is ignored: VOC boxes have no masks here).
absl::StatusOr<CocoDataset> ReadVocSplit(
    const VocDatasetConfig& config, const std::string& split,
    absl::Span<const std::string> class_names,
    const CocoReaderOptions& options);

// The image directory of a VOC dataset: <root>/JPEGImages.
std::string VocImageDir(const VocDatasetConfig& config);

}  // namespace sniper::data

#endif  // SNIPER_DATA_VOC_DATASET_H_
