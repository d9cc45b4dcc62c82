#include "data/coco_dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "data/coco_json_fields.h"
#include "glog/logging.h"
#include "masks/segmentation_json.h"
#include "port/json_locate.h"
#include "port/status_macros.h"
#include "simdjson.h"

namespace sniper::data {

std::string ClipBoxToImage(double box[4], int32_t width, int32_t height,
                           float tolerance, absl::string_view image_name,
                           bool* clipped) {
  double& x = box[0];
  double& y = box[1];
  double& w = box[2];
  double& h = box[3];
  *clipped = false;
  if (!(w > 0) || !(h > 0)) {
    return absl::StrCat("box has non-positive size ", w, "x", h);
  }
  if (!(x >= -tolerance) || !(y >= -tolerance) ||
      !(x + w <= width + tolerance) || !(y + h <= height + tolerance)) {
    return absl::StrCat("box [", x, ", ", y, ", ", w, ", ", h,
                        "] lies outside ", image_name, " (", width, "x", height,
                        ") by more than ", tolerance, " px");
  }
  // Clip into the image (within tolerance by the check above).
  const double x1 = std::max(0.0, x), y1 = std::max(0.0, y);
  const double x2 = std::min<double>(width, x + w);
  const double y2 = std::min<double>(height, y + h);
  if (x1 == x && y1 == y && x2 == x + w && y2 == y + h) return "";
  *clipped = true;
  if (!(x2 > x1) || !(y2 > y1))
    return "box is empty after clipping to the image";
  x = x1;
  y = y1;
  w = x2 - x1;
  h = y2 - y1;
  return "";
}

size_t CocoDataset::num_images_without_boxes() const {
  size_t n = 0;
  for (const CocoImage& im : images_) n += im.num_boxes == 0;
  return n;
}

absl::Span<const BoxXYWH> CocoDataset::boxes_of(size_t i) const {
  return absl::MakeConstSpan(boxes_).subspan(images_[i].first_box,
                                             images_[i].num_boxes);
}
absl::Span<const int32_t> CocoDataset::labels_of(size_t i) const {
  return absl::MakeConstSpan(labels_).subspan(images_[i].first_box,
                                              images_[i].num_boxes);
}
absl::Span<const uint8_t> CocoDataset::crowd_of(size_t i) const {
  return absl::MakeConstSpan(crowd_).subspan(images_[i].first_box,
                                             images_[i].num_boxes);
}
absl::Span<const int64_t> CocoDataset::annotation_ids_of(size_t i) const {
  return absl::MakeConstSpan(annotation_ids_)
      .subspan(images_[i].first_box, images_[i].num_boxes);
}
absl::Span<const masks::Segmentation> CocoDataset::segmentations_of(
    size_t i) const {
  if (segmentations_.empty()) return {};
  return absl::MakeConstSpan(segmentations_)
      .subspan(images_[i].first_box, images_[i].num_boxes);
}

int32_t CocoDataset::LabelOfCategory(int64_t category_id) const {
  auto it = label_of_category_.find(category_id);
  return it == label_of_category_.end() ? -1 : it->second;
}

int64_t CocoDataset::IndexOfImage(int64_t image_id) const {
  auto it = index_of_image_.find(image_id);
  return it == index_of_image_.end() ? -1 : it->second;
}

namespace {

namespace dom = simdjson::dom;
using internal::JsonPath;

// One raw annotation before cross-referencing.
struct RawAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  double bbox[4] = {0, 0, 0, 0};
  bool crowd = false;
  masks::Segmentation segmentation;  // with keep_segmentations
};

class Reader : public internal::JsonFields {
 public:
  Reader(absl::string_view source, const CocoReaderOptions& options)
      : JsonFields(source), options_(options) {}

  // `json` must stay alive and padded (simdjson::SIMDJSON_PADDING bytes).
  absl::StatusOr<CocoDataset> Parse(simdjson::padded_string_view json);

 private:
  absl::Status ParseImages(dom::element v);
  absl::Status ParseAnnotations(dom::element v);
  absl::Status ParseCategories(dom::element v);
  absl::StatusOr<CocoDataset> Assemble();

  CocoReaderOptions options_;
  std::vector<CocoImage> images_;
  std::vector<CocoCategory> categories_;
  std::vector<RawAnnotation> annotations_;
};

absl::Status Reader::ParseImages(dom::element v) {
  return ForEachObject(
      v, "images", [&](const JsonPath& path, dom::object obj) -> absl::Status {
        CocoImage image;
        bool has_id = false, has_w = false, has_h = false, has_file = false;
        for (dom::key_value_pair kv : obj) {
          const std::string_view key = kv.key;
          const dom::element value = kv.value;
          if (key == "id") {
            RETURN_IF_ERROR(GetInt64(value, path.Field("id"), &image.id));
            has_id = true;
          } else if (key == "width" || key == "height") {
            int64_t x;
            const JsonPath p = path.Field(key);
            RETURN_IF_ERROR(GetInt64(value, p, &x));
            if (x <= 0 || x > (1 << 20)) {
              return Error(p, absl::StrCat("must be in [1, 1048576], got ", x));
            }
            (key == "width" ? image.width : image.height) =
                static_cast<int32_t>(x);
            (key == "width" ? has_w : has_h) = true;
          } else if (key == "file_name") {
            RETURN_IF_ERROR(
                GetString(value, path.Field("file_name"), &image.file_name));
            has_file = true;
          }
        }
        if (!has_id) return Error(path, "missing field \"id\"");
        if (!has_w) return Error(path, "missing field \"width\"");
        if (!has_h) return Error(path, "missing field \"height\"");
        if (!has_file) return Error(path, "missing field \"file_name\"");
        images_.push_back(std::move(image));
        return absl::OkStatus();
      });
}

absl::Status Reader::ParseAnnotations(dom::element v) {
  return ForEachObject(
      v, "annotations",
      [&](const JsonPath& path, dom::object obj) -> absl::Status {
        RawAnnotation a;
        bool has_id = false, has_image = false, has_cat = false,
             has_bbox = false;
        for (dom::key_value_pair kv : obj) {
          const std::string_view key = kv.key;
          const dom::element value = kv.value;
          if (key == "id") {
            RETURN_IF_ERROR(GetInt64(value, path.Field("id"), &a.id));
            has_id = true;
          } else if (key == "image_id") {
            RETURN_IF_ERROR(
                GetInt64(value, path.Field("image_id"), &a.image_id));
            has_image = true;
          } else if (key == "category_id") {
            RETURN_IF_ERROR(
                GetInt64(value, path.Field("category_id"), &a.category_id));
            has_cat = true;
          } else if (key == "iscrowd") {
            const JsonPath p = path.Field("iscrowd");
            if (value.type() == dom::element_type::BOOL) {
              a.crowd = value.get_bool().value_unsafe();
            } else {
              int64_t c;
              RETURN_IF_ERROR(GetInt64(value, p, &c));
              if (c != 0 && c != 1) {
                return Error(p, absl::StrCat("must be 0 or 1, got ", c));
              }
              a.crowd = c == 1;
            }
          } else if (key == "bbox") {
            const JsonPath p = path.Field("bbox");
            dom::array coords;
            RETURN_IF_ERROR(GetArray(value, p, &coords));
            size_t k = 0;
            for (dom::element c : coords) {
              if (k >= 4) {
                return Error(p, "expected 4 numbers [x, y, w, h], got more");
              }
              RETURN_IF_ERROR(
                  GetDouble(c, p.Sub(static_cast<int64_t>(k)), &a.bbox[k]));
              ++k;
            }
            if (k != 4) {
              return Error(
                  p, absl::StrCat("expected 4 numbers [x, y, w, h], got ", k));
            }
            has_bbox = true;
          } else if (key == "segmentation" && options_.keep_segmentations) {
            absl::StatusOr<masks::Segmentation> segmentation =
                masks::ParseSegmentationJson(value);
            if (!segmentation.ok()) {
              return Error(path, segmentation.status().message());
            }
            a.segmentation = *std::move(segmentation);
          }
        }
        if (!has_id) return Error(path, "missing field \"id\"");
        if (!has_image) return Error(path, "missing field \"image_id\"");
        if (!has_cat) return Error(path, "missing field \"category_id\"");
        if (!has_bbox) return Error(path, "missing field \"bbox\"");
        annotations_.push_back(std::move(a));
        return absl::OkStatus();
      });
}

absl::Status Reader::ParseCategories(dom::element v) {
  return ForEachObject(
      v, "categories",
      [&](const JsonPath& path, dom::object obj) -> absl::Status {
        CocoCategory c;
        bool has_id = false, has_name = false;
        for (dom::key_value_pair kv : obj) {
          const std::string_view key = kv.key;
          const dom::element value = kv.value;
          if (key == "id") {
            RETURN_IF_ERROR(GetInt64(value, path.Field("id"), &c.id));
            has_id = true;
          } else if (key == "name") {
            RETURN_IF_ERROR(GetString(value, path.Field("name"), &c.name));
            has_name = true;
          } else if (key == "supercategory") {
            RETURN_IF_ERROR(GetString(value, path.Field("supercategory"),
                                      &c.supercategory));
          }
        }
        if (!has_id) return Error(path, "missing field \"id\"");
        if (!has_name) return Error(path, "missing field \"name\"");
        categories_.push_back(std::move(c));
        return absl::OkStatus();
      });
}

absl::StatusOr<CocoDataset> Reader::Parse(simdjson::padded_string_view json) {
  // The DOM parser dispatches at run time to the best SIMD kernels of the
  // CPU (the On-Demand API would be compiled for the build's baseline ISA,
  // i.e. its scalar fallback on a generic x86-64 build).
  dom::parser parser;
  dom::element root;
  if (auto e = parser.parse(json.data(), json.size(), false).get(root)) {
    if (e == simdjson::NUMBER_ERROR || e == simdjson::NUMBER_OUT_OF_RANGE) {
      if (const auto where = FindOutOfRangeNumber(
              absl::string_view(json.data(), json.size()))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_, ": ", *where,
                         ": does not fit a 64-bit integer or a double"));
      }
    }
    return JsonError("$", e);
  }
  if (root.type() != dom::element_type::OBJECT) {
    return Error("$", absl::StrCat("expected an object, got ",
                                   JsonTypeName(root.type())));
  }
  bool has_images = false, has_annotations = false, has_categories = false;
  // Copy out of the simdjson_result (value_unsafe() of a temporary would
  // dangle in a range-for).
  const dom::object root_object = root.get_object().value_unsafe();
  for (dom::key_value_pair kv : root_object) {
    if (kv.key == "images") {
      RETURN_IF_ERROR(ParseImages(kv.value));
      has_images = true;
    } else if (kv.key == "annotations") {
      RETURN_IF_ERROR(ParseAnnotations(kv.value));
      has_annotations = true;
    } else if (kv.key == "categories") {
      RETURN_IF_ERROR(ParseCategories(kv.value));
      has_categories = true;
    }
  }
  if (!has_images) return Error("$", "missing field \"images\"");
  if (!has_categories) return Error("$", "missing field \"categories\"");
  if (!has_annotations) {
    LOG(WARNING) << source_
                 << ": no \"annotations\" field; every image has no boxes";
  }
  return Assemble();
}

absl::StatusOr<CocoDataset> Reader::Assemble() {
  CocoLoadStats stats;
  stats.annotations = static_cast<int64_t>(annotations_.size());

  // Categories: unique ids, labels in ascending id order.
  std::vector<size_t> order(categories_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return categories_[a].id < categories_[b].id;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    if (categories_[order[k]].id == categories_[order[k - 1]].id) {
      return Error(
          absl::StrCat("categories[", order[k], "].id"),
          absl::StrCat("duplicate category id ", categories_[order[k]].id,
                       " (also at categories[", order[k - 1], "])"));
    }
  }
  std::vector<CocoCategory> categories;
  categories.reserve(order.size());
  absl::flat_hash_map<int64_t, int32_t> label_of;
  for (size_t idx : order) {
    label_of[categories_[idx].id] = static_cast<int32_t>(categories.size());
    categories.push_back(std::move(categories_[idx]));
  }

  absl::flat_hash_map<int64_t, int64_t> image_index;
  image_index.reserve(images_.size());
  for (size_t i = 0; i < images_.size(); ++i) {
    auto [it, inserted] = image_index.emplace(images_[i].id, i);
    if (!inserted) {
      return Error(absl::StrCat("images[", i, "].id"),
                   absl::StrCat("duplicate image id ", images_[i].id,
                                " (also at images[", it->second, "])"));
    }
  }

  // Validate annotations and count boxes per image.
  absl::flat_hash_set<int64_t> annotation_ids;
  annotation_ids.reserve(annotations_.size());
  std::vector<int64_t> owner(annotations_.size(), -1);  // -1: skipped
  std::vector<uint32_t> counts(images_.size(), 0);
  const float tol = options_.out_of_image_tolerance;
  for (size_t i = 0; i < annotations_.size(); ++i) {
    RawAnnotation& a = annotations_[i];
    const JsonPath path("annotations", static_cast<int64_t>(i));
    if (!annotation_ids.insert(a.id).second) {
      return Error(path.Field("id"),
                   absl::StrCat("duplicate annotation id ", a.id));
    }
    auto img = image_index.find(a.image_id);
    if (img == image_index.end()) {
      return Error(path.Field("image_id"),
                   absl::StrCat("no image with id ", a.image_id));
    }
    if (!label_of.contains(a.category_id)) {
      return Error(path.Field("category_id"),
                   absl::StrCat("unknown category id ", a.category_id));
    }
    const CocoImage& image = images_[img->second];
    if (const masks::Segmentation& m = a.segmentation;
        m.kind == masks::Segmentation::Kind::kRle &&
        (m.rle.height != image.height || m.rle.width != image.width)) {
      return Error(path.Field("segmentation"),
                   absl::StrCat("RLE size [", m.rle.height, ", ", m.rle.width,
                                "] is not image ", a.image_id, "'s [",
                                image.height, ", ", image.width, "]"));
    }
    bool clipped = false;
    const std::string problem =
        ClipBoxToImage(a.bbox, image.width, image.height, tol,
                       absl::StrCat("image ", a.image_id), &clipped);
    if (clipped) ++stats.clipped_boxes;
    if (!problem.empty()) {
      if (options_.invalid_box_policy == InvalidBoxPolicy::kError) {
        return Error(path.Field("bbox"), problem);
      }
      ++stats.skipped_invalid_boxes;
      continue;
    }
    owner[i] = img->second;
    ++counts[img->second];
  }

  // Counting sort of boxes by image, stable in file order.
  uint64_t total = 0;
  for (size_t i = 0; i < images_.size(); ++i) {
    images_[i].first_box = static_cast<uint32_t>(total);
    images_[i].num_boxes = counts[i];
    total += counts[i];
    if (counts[i] == 0) ++stats.images_without_boxes;
  }
  if (total > std::numeric_limits<uint32_t>::max()) {
    return Error("annotations", "more than 2^32 boxes");
  }
  // box_order[k]: the annotation that is box k.
  std::vector<size_t> box_order(total);
  std::vector<uint32_t> cursor(images_.size());
  for (size_t i = 0; i < images_.size(); ++i) cursor[i] = images_[i].first_box;
  for (size_t i = 0; i < annotations_.size(); ++i) {
    if (owner[i] >= 0) box_order[cursor[owner[i]]++] = i;
  }
  CocoDatasetBuilder b(source_);
  b.SetCategories(std::move(categories))
      .KeepSegmentations(options_.keep_segmentations);
  b.Reserve(images_.size(), total);
  size_t k = 0;
  for (CocoImage& image : images_) {
    const uint32_t n = image.num_boxes;
    b.AddImage(std::move(image));
    for (const size_t end = k + n; k < end; ++k) {
      RawAnnotation& a = annotations_[box_order[k]];
      if (a.crowd) ++stats.crowd_boxes;
      if (options_.keep_segmentations &&
          a.segmentation.kind != masks::Segmentation::Kind::kNone) {
        ++stats.segmentations;
      }
      b.AddAnnotation(
          {{static_cast<float>(a.bbox[0]), static_cast<float>(a.bbox[1]),
            static_cast<float>(a.bbox[2]), static_cast<float>(a.bbox[3])},
           label_of[a.category_id],
           a.crowd,
           a.id,
           std::move(a.segmentation)});
    }
  }
  if (stats.skipped_invalid_boxes > 0) {
    LOG(WARNING) << source_ << ": skipped " << stats.skipped_invalid_boxes
                 << " invalid boxes of " << stats.annotations
                 << " annotations (InvalidBoxPolicy::kSkip)";
  }
  b.SetStats(stats);
  return std::move(b).Build();
}

}  // namespace

absl::StatusOr<CocoDataset> ParseCocoInstances(
    absl::string_view json, absl::string_view source_name,
    const CocoReaderOptions& options) {
  const simdjson::padded_string padded(json.data(), json.size());
  Reader reader(source_name, options);
  return reader.Parse(padded);
}

absl::StatusOr<CocoDataset> ReadCocoInstances(
    const std::string& path, const CocoReaderOptions& options) {
  simdjson::padded_string contents;
  if (auto e = simdjson::padded_string::load(path).get(contents)) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot read (", simdjson::error_message(e), ")"));
  }
  Reader reader(path, options);
  return reader.Parse(contents);
}

}  // namespace sniper::data
