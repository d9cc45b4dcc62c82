// CocoDatasetBuilder and CocoDataset::Subset (data/coco_dataset.h).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "data/coco_dataset.h"
#include "glog/logging.h"

namespace sniper::data {

void CocoDatasetBuilder::Fail(std::string message) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", std::move(message)));
  }
}

CocoDatasetBuilder& CocoDatasetBuilder::SetCategories(
    std::vector<CocoCategory> categories) {
  for (size_t i = 1; i < categories.size(); ++i) {
    if (categories[i].id <= categories[i - 1].id) {
      Fail(absl::StrCat("categories must be in increasing id order: id ",
                        categories[i].id, " after ", categories[i - 1].id));
    }
  }
  d_.categories_ = std::move(categories);
  return *this;
}

CocoDatasetBuilder& CocoDatasetBuilder::KeepSegmentations(bool keep) {
  keep_segmentations_ = keep;
  return *this;
}

CocoDatasetBuilder& CocoDatasetBuilder::SetStats(const CocoLoadStats& stats) {
  d_.stats_ = stats;
  return *this;
}

void CocoDatasetBuilder::Reserve(size_t images, size_t annotations) {
  d_.images_.reserve(images);
  d_.index_of_image_.reserve(images);
  d_.boxes_.reserve(annotations);
  d_.labels_.reserve(annotations);
  d_.crowd_.reserve(annotations);
  d_.annotation_ids_.reserve(annotations);
  if (keep_segmentations_) d_.segmentations_.reserve(annotations);
}

CocoDatasetBuilder& CocoDatasetBuilder::AddImage(CocoImage image) {
  const auto [it, inserted] = d_.index_of_image_.try_emplace(
      image.id, static_cast<int64_t>(d_.images_.size()));
  if (!inserted) Fail(absl::StrCat("image id ", image.id, " added twice"));
  image.first_box = static_cast<uint32_t>(d_.boxes_.size());
  image.num_boxes = 0;
  d_.images_.push_back(std::move(image));
  return *this;
}

CocoDatasetBuilder& CocoDatasetBuilder::AddAnnotation(CocoAnnotation a) {
  if (d_.images_.empty()) {
    Fail(absl::StrCat("annotation ", a.id, " added before any image"));
    return *this;
  }
  if (!d_.categories_.empty() &&
      (a.label < 0 || static_cast<size_t>(a.label) >= d_.categories_.size())) {
    Fail(absl::StrCat("annotation ", a.id, ": label ", a.label,
                      " is not one of the ", d_.categories_.size(),
                      " categories"));
  }
  if (d_.boxes_.size() >= UINT32_MAX) {
    Fail("more than 2^32 - 1 annotations");
    return *this;
  }
  d_.boxes_.push_back(a.box);
  d_.labels_.push_back(a.label);
  d_.crowd_.push_back(a.crowd ? 1 : 0);
  d_.annotation_ids_.push_back(a.id);
  if (keep_segmentations_)
    d_.segmentations_.push_back(std::move(a.segmentation));
  ++d_.images_.back().num_boxes;
  return *this;
}

absl::StatusOr<CocoDataset> CocoDatasetBuilder::Build() && {
  if (!status_.ok()) return status_;
  d_.source_ = std::move(source_);
  d_.label_of_category_.clear();
  for (size_t i = 0; i < d_.categories_.size(); ++i) {
    d_.label_of_category_[d_.categories_[i].id] = static_cast<int32_t>(i);
  }
  return std::move(d_);
}

absl::StatusOr<CocoDataset> CocoDataset::Subset(
    absl::Span<const size_t> indices) const {
  CocoDatasetBuilder b(source_);
  b.SetCategories(categories_).KeepSegmentations(has_segmentations());
  b.SetStats(stats_);
  for (const size_t i : indices) {
    if (i >= num_images()) {
      return absl::OutOfRangeError(absl::StrCat(
          source_, ": no image ", i, " in ", num_images(), " images"));
    }
    b.AddImage(images_[i]);
    const CocoImage& im = images_[i];
    for (uint32_t k = im.first_box; k < im.first_box + im.num_boxes; ++k) {
      b.AddAnnotation(
          {boxes_[k], labels_[k], crowd_[k] != 0, annotation_ids_[k],
           has_segmentations() ? segmentations_[k] : masks::Segmentation()});
    }
  }
  return std::move(b).Build();
}

CocoDataset CocoDataset::Prefix(size_t n) const {
  std::vector<size_t> indices(std::min(n, num_images()));
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  absl::StatusOr<CocoDataset> out = Subset(indices);
  CHECK(out.ok()) << out.status();  // distinct images of a valid dataset
  return *std::move(out);
}

}  // namespace sniper::data
