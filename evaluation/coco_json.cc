#include "evaluation/coco_json.h"

#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "masks/segmentation.h"
#include "masks/segmentation_json.h"
#include "port/json_locate.h"
#include "port/status_macros.h"
#include "simdjson.h"

namespace sniper::evaluation {
namespace {

namespace dom = simdjson::dom;

// Reads one file's values; every error names the file and the path.
class JsonFile {
 public:
  explicit JsonFile(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<dom::element> Load() {
    if (auto e = simdjson::padded_string::load(path_).get(bytes_)) {
      return absl::NotFoundError(absl::StrCat(path_, ": cannot read (",
                                              simdjson::error_message(e), ")"));
    }
    return ParseBytes();
  }

  // The document `json`; the file's name is only used in errors.
  absl::StatusOr<dom::element> Parse(absl::string_view json) {
    bytes_ = simdjson::padded_string(json.data(), json.size());
    return ParseBytes();
  }

  absl::StatusOr<dom::element> ParseBytes() {
    dom::element root;
    if (auto e = parser_.parse(bytes_).get(root)) {
      if (e == simdjson::NUMBER_ERROR || e == simdjson::NUMBER_OUT_OF_RANGE) {
        if (const auto where = FindOutOfRangeNumber(
                absl::string_view(bytes_.data(), bytes_.size()))) {
          return absl::InvalidArgumentError(
              absl::StrCat(path_, ": ", *where,
                           ": does not fit a 64-bit integer or a double"));
        }
      }
      return Error("$", absl::StrCat("malformed JSON (",
                                     simdjson::error_message(e), ")"));
    }
    return root;
  }

  absl::Status Error(const std::string& where, const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": ", where, ": ", what));
  }

  absl::Status Number(dom::element v, const std::string& where,
                      double* out) const {
    const dom::element_type t = v.type();
    if (t != dom::element_type::INT64 && t != dom::element_type::UINT64 &&
        t != dom::element_type::DOUBLE) {
      return Error(where, "expected a number");
    }
    *out = v.get_double().value_unsafe();
    if (!std::isfinite(*out)) return Error(where, "number is not finite");
    return absl::OkStatus();
  }

  absl::Status Id(dom::element v, const std::string& where,
                  int64_t* out) const {
    double d = 0;
    RETURN_IF_ERROR(Number(v, where, &d));
    if (v.type() == dom::element_type::INT64) {
      *out = v.get_int64().value_unsafe();
      return absl::OkStatus();
    }
    if (d != std::floor(d) || std::fabs(d) > 9e15) {
      return Error(where, absl::StrCat("expected an integer id, got ", d));
    }
    *out = static_cast<int64_t>(d);
    return absl::OkStatus();
  }

  absl::Status Box(dom::element v, const std::string& where,
                   double box[4]) const {
    dom::array a;
    if (v.get_array().get(a) || a.size() != 4) {
      return Error(where, "expected [x, y, width, height]");
    }
    int k = 0;
    for (dom::element x : a) {
      RETURN_IF_ERROR(Number(x, absl::StrCat(where, "[", k, "]"), &box[k]));
      ++k;
    }
    if (box[2] < 0 || box[3] < 0) {
      return Error(where, absl::StrCat("negative width or height (", box[2],
                                       ", ", box[3], ")"));
    }
    return absl::OkStatus();
  }

  // The fields results and annotations share: image_id, category_id.
  absl::Status ImageCategory(dom::object o, const std::string& where,
                             int64_t* image_id, int64_t* category_id) const {
    ASSIGN_OR_RETURN(dom::element image, Field(o, "image_id", where));
    RETURN_IF_ERROR(Id(image, where + ".image_id", image_id));
    ASSIGN_OR_RETURN(dom::element cat, Field(o, "category_id", where));
    return Id(cat, where + ".category_id", category_id);
  }

  // A "segmentation" value; errors name the place.
  absl::StatusOr<masks::Segmentation> Segmentation(
      dom::object o, const std::string& where) const {
    ASSIGN_OR_RETURN(dom::element v, Field(o, "segmentation", where));
    absl::StatusOr<masks::Segmentation> s = masks::ParseSegmentationJson(v);
    if (!s.ok()) return Error(where, std::string(s.status().message()));
    return s;
  }

  absl::StatusOr<dom::element> Field(dom::object o, const char* key,
                                     const std::string& where) const {
    dom::element v;
    if (o.at_key(key).get(v)) {
      return Error(where, absl::StrCat("missing field \"", key, "\""));
    }
    return v;
  }

  absl::StatusOr<dom::array> Array(dom::element v,
                                   const std::string& where) const {
    dom::array a;
    if (v.get_array().get(a)) return Error(where, "expected an array");
    return a;
  }

  absl::StatusOr<dom::object> Object(dom::element v,
                                     const std::string& where) const {
    dom::object o;
    if (v.get_object().get(o)) return Error(where, "expected an object");
    return o;
  }

 private:
  std::string path_;
  simdjson::padded_string bytes_;
  dom::parser parser_;
};

absl::StatusOr<EvalGroundTruth> GroundTruthFrom(JsonFile& f, dom::element root,
                                                bool with_masks);
absl::StatusOr<std::vector<Detection>> DetectionsFrom(JsonFile& f,
                                                      dom::element root,
                                                      bool with_masks);

}  // namespace

absl::StatusOr<EvalGroundTruth> ReadGroundTruthJson(const std::string& path,
                                                    bool with_masks) {
  JsonFile f(path);
  ASSIGN_OR_RETURN(dom::element root, f.Load());
  return GroundTruthFrom(f, root, with_masks);
}

absl::StatusOr<EvalGroundTruth> ParseGroundTruthJson(absl::string_view json,
                                                     const std::string& source,
                                                     bool with_masks) {
  JsonFile f(source);
  ASSIGN_OR_RETURN(dom::element root, f.Parse(json));
  return GroundTruthFrom(f, root, with_masks);
}

namespace {

// An image's {height, width}: segm rasterises polygons at it.
absl::Status ImageSize(JsonFile& f, dom::object o, const std::string& where,
                       EvalGroundTruth* gt) {
  int64_t hw[2] = {0, 0};
  const char* names[2] = {"height", "width"};
  for (int k = 0; k < 2; ++k) {
    dom::element v;
    if (o.at_key(names[k]).get(v)) {
      return f.Error(where, absl::StrCat("missing field \"", names[k],
                                         "\" (segm evaluation needs the "
                                         "image's size)"));
    }
    const std::string at = absl::StrCat(where, ".", names[k]);
    RETURN_IF_ERROR(f.Id(v, at, &hw[k]));
    if (hw[k] < 1 || hw[k] > (1 << 20)) {
      return f.Error(at, absl::StrCat("must be in [1, 1048576], got ", hw[k]));
    }
  }
  gt->image_sizes.push_back(
      {static_cast<int32_t>(hw[0]), static_cast<int32_t>(hw[1])});
  return absl::OkStatus();
}

absl::StatusOr<EvalGroundTruth> GroundTruthFrom(JsonFile& f, dom::element root,
                                                bool with_masks) {
  ASSIGN_OR_RETURN(dom::object top, f.Object(root, "$"));
  EvalGroundTruth gt;
  for (const char* section : {"images", "categories"}) {
    ASSIGN_OR_RETURN(dom::element v, f.Field(top, section, "$"));
    ASSIGN_OR_RETURN(dom::array a, f.Array(v, section));
    int64_t i = 0;
    for (dom::element e : a) {
      const std::string where = absl::StrCat(section, "[", i++, "]");
      ASSIGN_OR_RETURN(dom::object o, f.Object(e, where));
      ASSIGN_OR_RETURN(dom::element id, f.Field(o, "id", where));
      int64_t value = 0;
      RETURN_IF_ERROR(f.Id(id, where + ".id", &value));
      if (section[0] == 'i') {
        gt.image_ids.push_back(value);
        if (with_masks) RETURN_IF_ERROR(ImageSize(f, o, where, &gt));
      } else {
        gt.category_ids.push_back(value);
      }
    }
  }
  dom::element anns;
  if (top.at_key("annotations").get(anns)) return gt;  // no boxes at all
  ASSIGN_OR_RETURN(dom::array a, f.Array(anns, "annotations"));
  gt.boxes.reserve(a.size());
  absl::flat_hash_map<int64_t, std::array<int32_t, 2>> images;
  for (size_t k = 0; k < gt.image_ids.size(); ++k) {
    images[gt.image_ids[k]] = gt.image_sizes.empty()
                                  ? std::array<int32_t, 2>{0, 0}
                                  : gt.image_sizes[k];
  }
  const absl::flat_hash_set<int64_t> categories(gt.category_ids.begin(),
                                                gt.category_ids.end());
  int64_t i = 0;
  for (dom::element e : a) {
    const std::string where = absl::StrCat("annotations[", i++, "]");
    ASSIGN_OR_RETURN(dom::object o, f.Object(e, where));
    GtBox g;
    RETURN_IF_ERROR(f.ImageCategory(o, where, &g.image_id, &g.category_id));
    ASSIGN_OR_RETURN(dom::element bbox, f.Field(o, "bbox", where));
    double b[4];
    RETURN_IF_ERROR(f.Box(bbox, where + ".bbox", b));
    if (!images.contains(g.image_id)) {
      return f.Error(where + ".image_id",
                     absl::StrCat(g.image_id, " is not in images"));
    }
    if (!categories.contains(g.category_id)) {
      return f.Error(where + ".category_id",
                     absl::StrCat(g.category_id, " is not in categories"));
    }
    g.x = b[0], g.y = b[1], g.w = b[2], g.h = b[3];
    dom::element v;
    if (!o.at_key("area").get(v)) {
      RETURN_IF_ERROR(f.Number(v, where + ".area", &g.area));
    } else {
      g.area = g.w * g.h;
    }
    if (!o.at_key("iscrowd").get(v)) {
      double crowd = 0;
      if (v.type() == dom::element_type::BOOL) {
        crowd = v.get_bool().value_unsafe();
      } else {
        RETURN_IF_ERROR(f.Number(v, where + ".iscrowd", &crowd));
      }
      g.iscrowd = crowd != 0;
    }
    if (with_masks) {
      ASSIGN_OR_RETURN(const masks::Segmentation seg, f.Segmentation(o, where));
      const std::array<int32_t, 2>& hw = images[g.image_id];
      absl::StatusOr<masks::Rle> mask = masks::ToRle(seg, hw[0], hw[1]);
      if (!mask.ok()) {
        return f.Error(where + ".segmentation",
                       std::string(mask.status().message()));
      }
      g.mask = *std::move(mask);
    }
    gt.boxes.push_back(std::move(g));
  }
  return gt;
}

}  // namespace

absl::StatusOr<std::vector<Detection>> ReadDetectionsJson(
    const std::string& path, bool with_masks) {
  JsonFile f(path);
  ASSIGN_OR_RETURN(dom::element root, f.Load());
  return DetectionsFrom(f, root, with_masks);
}

absl::StatusOr<std::vector<Detection>> ParseDetectionsJson(
    absl::string_view json, const std::string& source, bool with_masks) {
  JsonFile f(source);
  ASSIGN_OR_RETURN(dom::element root, f.Parse(json));
  return DetectionsFrom(f, root, with_masks);
}

namespace {

// How the reference's loadRes reads a results file, decided on its first
// result: the "bbox" branch when that result has a non-empty "bbox", else
// the "segmentation" branch.
enum class ResultsForm { kBox, kMask };

// `o`'s "bbox" unless it is missing or [] (the reference's test).
std::optional<dom::element> NonEmptyBox(dom::object o) {
  dom::element v;
  if (o.at_key("bbox").get(v)) return std::nullopt;
  dom::array a;
  if (!v.get_array().get(a) && a.size() == 0) return std::nullopt;
  return v;
}

ResultsForm FormOf(dom::array results) {
  dom::element first;
  dom::object o;
  if (results.at(0).get(first) || first.get_object().get(o)) {
    return ResultsForm::kBox;  // the first result's own error follows
  }
  return NonEmptyBox(o) ? ResultsForm::kBox : ResultsForm::kMask;
}

// A result's "segmentation", which must be an RLE.
absl::StatusOr<masks::Rle> ResultMask(JsonFile& f, dom::object o,
                                      const std::string& where) {
  ASSIGN_OR_RETURN(masks::Segmentation seg, f.Segmentation(o, where));
  if (seg.kind != masks::Segmentation::Kind::kRle) {
    return f.Error(where + ".segmentation",
                   "a result's mask must be an RLE {\"size\", \"counts\"} "
                   "(the reference's loadRes)");
  }
  return std::move(seg.rle);
}

// One result of a file of the given form; errors name the place.
absl::StatusOr<Detection> ResultFrom(JsonFile& f, dom::object o,
                                     const std::string& where, ResultsForm form,
                                     bool with_masks) {
  Detection d;
  RETURN_IF_ERROR(f.ImageCategory(o, where, &d.image_id, &d.category_id));
  const std::optional<dom::element> bbox = NonEmptyBox(o);
  if (form == ResultsForm::kBox && !bbox) {
    return f.Error(where,
                   "no \"bbox\" (the first result has one, so every result "
                   "needs one: the reference's loadRes)");
  }
  if (bbox) {
    double b[4];
    RETURN_IF_ERROR(f.Box(*bbox, where + ".bbox", b));
    d.x = b[0], d.y = b[1], d.w = b[2], d.h = b[3];
  }
  ASSIGN_OR_RETURN(dom::element score, f.Field(o, "score", where));
  RETURN_IF_ERROR(f.Number(score, where + ".score", &d.score));
  if (form == ResultsForm::kBox) {
    d.area = d.w * d.h;  // loadRes's bbox branch, masks or not
    if (with_masks) {
      ASSIGN_OR_RETURN(d.mask, ResultMask(f, o, where));
    }
    return d;
  }
  // The segmentation branch: the mask's area, and its tight box (toBbox)
  // where the result gives no bbox; the mask is needed for boxes too.
  if (dom::element v; o.at_key("segmentation").get(v)) {
    return f.Error(where,
                   "no \"segmentation\" (the first result has no bbox, so "
                   "every result needs a mask, whose area is its area: the "
                   "reference's loadRes)");
  }
  ASSIGN_OR_RETURN(d.mask, ResultMask(f, o, where));
  d.area = static_cast<double>(masks::Area(d.mask));
  if (!bbox) {
    const masks::MaskBox mb = masks::ToBox(d.mask);
    d.x = mb.x, d.y = mb.y, d.w = mb.w, d.h = mb.h;
  }
  return d;
}

absl::StatusOr<std::vector<Detection>> DetectionsFrom(JsonFile& f,
                                                      dom::element root,
                                                      bool with_masks) {
  ASSIGN_OR_RETURN(dom::array a, f.Array(root, "$"));
  std::vector<Detection> out;
  if (a.size() == 0) return out;
  const ResultsForm form = FormOf(a);
  out.reserve(a.size());
  int64_t i = 0;
  for (dom::element e : a) {
    const std::string where = absl::StrCat("[", i++, "]");
    ASSIGN_OR_RETURN(dom::object o, f.Object(e, where));
    ASSIGN_OR_RETURN(Detection d, ResultFrom(f, o, where, form, with_masks));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

}  // namespace sniper::evaluation
