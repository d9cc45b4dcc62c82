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
#include <utility>
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
  // Images with no box at all (they give no positive chips; negative chips
  // and whole-image training still use them).
  size_t num_images_without_boxes() const;

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

  // The images at `indices` (in that order) with their annotations; the
  // same categories, source and load stats. An index out of range or
  // repeated is an error.
  absl::StatusOr<CocoDataset> Subset(absl::Span<const size_t> indices) const;
  // The first min(n, num_images()) images.
  CocoDataset Prefix(size_t n) const;

 private:
  friend class CocoDatasetBuilder;
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

// One annotation, as CocoDatasetBuilder::AddAnnotation takes it.
struct CocoAnnotation {
  BoxXYWH box;
  int32_t label = 0;  // contiguous: categories()[label]
  bool crowd = false;
  int64_t id = 0;
  masks::Segmentation segmentation = {};  // kept with KeepSegmentations()
};

// Assembles a CocoDataset image by image: what the readers, tools and tests
// that make datasets use.
//
//   CocoDatasetBuilder b("photos/");
//   b.SetCategories({{1, "cat"}, {2, "dog"}});
//   b.AddImage({/*id=*/7, /*width=*/640, /*height=*/480, "a.jpg"});
//   b.AddAnnotation({/*box=*/{10, 20, 30, 40}, /*label=*/1, false, /*id=*/1});
//   ASSIGN_OR_RETURN(CocoDataset ds, std::move(b).Build());
//
// An annotation belongs to the image added last. Build() reports the first
// misuse (an annotation before any image, a repeated image id, a label
// outside the categories when there are any, categories not in increasing
// id order), naming the source.
class CocoDatasetBuilder {
 public:
  explicit CocoDatasetBuilder(std::string source)
      : source_(std::move(source)) {}

  CocoDatasetBuilder& SetCategories(std::vector<CocoCategory> categories);
  CocoDatasetBuilder& KeepSegmentations(bool keep = true);
  CocoDatasetBuilder& SetStats(const CocoLoadStats& stats);
  // The image's first_box and num_boxes are the builder's to set.
  CocoDatasetBuilder& AddImage(CocoImage image);
  CocoDatasetBuilder& AddAnnotation(CocoAnnotation annotation);
  void Reserve(size_t images, size_t annotations);

  absl::StatusOr<CocoDataset> Build() &&;

 private:
  void Fail(std::string message);

  std::string source_;
  CocoDataset d_;
  bool keep_segmentations_ = false;
  absl::Status status_;
};

// What is wrong with box [x, y, w, h] (original pixels) in an image of
// `width` x `height` named `image_name` in the message: a non-positive or
// non-finite size, lying outside the image by more than `tolerance` px, or
// nothing left after clipping; "" when the box is fine, clipped into the
// image in place (*clipped says whether it moved). Every reader's rule.
std::string ClipBoxToImage(double box[4], int32_t width, int32_t height,
                           float tolerance, absl::string_view image_name,
                           bool* clipped);

// Parses a COCO instances JSON document. `source_name` prefixes every error.
absl::StatusOr<CocoDataset> ParseCocoInstances(
    absl::string_view json, absl::string_view source_name,
    const CocoReaderOptions& options);

// Reads and parses the file at `path`.
absl::StatusOr<CocoDataset> ReadCocoInstances(const std::string& path,
                                              const CocoReaderOptions& options);

}  // namespace sniper::data

#endif  // SNIPER_DATA_COCO_DATASET_H_
