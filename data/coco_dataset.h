// File: data/coco_dataset.h
//
// A COCO "instances" annotation file in a compact in-memory form: images,
// boxes grouped per image (structure of arrays), categories mapped to
// contiguous labels 0..K-1 in ascending category-id order.
//
// Reading is strict by default: every malformed or inconsistent entry is an
// InvalidArgument naming the file and the JSON path, e.g.
//   "instances.json: annotations[17].bbox[2]: expected a number, got string"
// Boxes that are well-formed but degenerate (zero/negative size) or outside
// the image beyond a tolerance are an error under InvalidBoxPolicy::kError,
// or skipped and counted (and logged) under kSkip. Nothing is dropped
// silently.
//
//   ASSIGN_OR_RETURN(CocoDataset ds, ReadCocoInstances(path, {}));
//   for (size_t i = 0; i < ds.num_images(); ++i)
//     for (const BoxXYWH& b : ds.boxes_of(i)) ...
#ifndef SNIPER_DATA_COCO_DATASET_H_
#define SNIPER_DATA_COCO_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "masks/segmentation.h"

namespace sniper::data {

// A box in COCO's convention: top-left corner, width, height, in pixels of
// the original image.
struct BoxXYWH {
  float x = 0, y = 0, w = 0, h = 0;
};

struct CocoImage {
  int64_t id = 0;
  int32_t width = 0;
  int32_t height = 0;
  std::string file_name;
  uint32_t first_box = 0;  // index of its first box in the dataset's arrays
  uint32_t num_boxes = 0;
};

struct CocoCategory {
  int64_t id = 0;  // COCO category id (1..90 for COCO, with gaps)
  std::string name;
  std::string supercategory;
};

enum class InvalidBoxPolicy {
  kError,  // the whole read fails, naming the annotation
  kSkip,   // the box is left out and counted in CocoLoadStats
};

struct CocoReaderOptions {
  InvalidBoxPolicy invalid_box_policy = InvalidBoxPolicy::kError;
  // A box may extend this many pixels past the image border; it is clipped
  // to the image. Beyond this it is invalid.
  float out_of_image_tolerance = 1.0f;
  // Parse and keep each annotation's "segmentation" (polygons or an RLE,
  // masks/segmentation.h; malformed ones are errors naming the annotation,
  // an RLE must have its image's size). Off: the field is not read at all.
  bool keep_segmentations = false;
};

struct CocoLoadStats {
  int64_t annotations = 0;            // annotation entries in the file
  int64_t skipped_invalid_boxes = 0;  // dropped under InvalidBoxPolicy::kSkip
  int64_t clipped_boxes = 0;  // moved inside the image (within tolerance)
  int64_t crowd_boxes = 0;
  int64_t images_without_boxes = 0;
  int64_t segmentations = 0;  // kept boxes with a segmentation
};

class CocoDataset {
 public:
  CocoDataset() = default;

  size_t num_images() const { return images_.size(); }
  size_t num_boxes() const { return boxes_.size(); }
  size_t num_categories() const { return categories_.size(); }

  absl::Span<const CocoImage> images() const { return images_; }
  const CocoImage& image(size_t index) const { return images_[index]; }

  // All boxes, grouped by image in image order.
  absl::Span<const BoxXYWH> boxes() const { return boxes_; }
  absl::Span<const BoxXYWH> boxes_of(size_t image_index) const;
  // Contiguous label (0..K-1) per box, parallel to boxes().
  absl::Span<const int32_t> labels_of(size_t image_index) const;
  // 1 for iscrowd boxes, parallel to boxes().
  absl::Span<const uint8_t> crowd_of(size_t image_index) const;
  absl::Span<const int64_t> annotation_ids_of(size_t image_index) const;
  // Parallel to boxes() when read with keep_segmentations (kNone for an
  // annotation without one); empty otherwise.
  bool has_segmentations() const { return !segmentations_.empty(); }
  absl::Span<const masks::Segmentation> segmentations_of(
      size_t image_index) const;

  // Categories sorted by id; label i is categories()[i].
  absl::Span<const CocoCategory> categories() const { return categories_; }
  // Contiguous label of a COCO category id, or -1.
  int32_t LabelOfCategory(int64_t category_id) const;
  // Index of an image id, or -1.
  int64_t IndexOfImage(int64_t image_id) const;

  const CocoLoadStats& stats() const { return stats_; }
  const std::string& source() const { return source_; }

  // Builds a dataset from parts (used by the reader and by tests/tools that
  // synthesize data). Boxes must already be grouped by image: image i owns
  // [first_box, first_box + num_boxes). No validation beyond sizes.
  static CocoDataset FromParts(
      std::string source, std::vector<CocoImage> images,
      std::vector<CocoCategory> categories, std::vector<BoxXYWH> boxes,
      std::vector<int32_t> labels, std::vector<uint8_t> crowd,
      std::vector<int64_t> annotation_ids, CocoLoadStats stats,
      std::vector<masks::Segmentation> segmentations = {});

 private:
  std::string source_;
  std::vector<CocoImage> images_;
  std::vector<CocoCategory> categories_;
  std::vector<BoxXYWH> boxes_;
  std::vector<int32_t> labels_;
  std::vector<uint8_t> crowd_;
  std::vector<int64_t> annotation_ids_;
  std::vector<masks::Segmentation> segmentations_;
  absl::flat_hash_map<int64_t, int32_t> label_of_category_;
  absl::flat_hash_map<int64_t, int64_t> index_of_image_;
  CocoLoadStats stats_;
};

// Parses a COCO instances JSON document. `source_name` prefixes every error.
absl::StatusOr<CocoDataset> ParseCocoInstances(
    absl::string_view json, absl::string_view source_name,
    const CocoReaderOptions& options);

// Reads and parses the file at `path`.
absl::StatusOr<CocoDataset> ReadCocoInstances(const std::string& path,
                                              const CocoReaderOptions& options);

}  // namespace sniper::data

#endif  // SNIPER_DATA_COCO_DATASET_H_
