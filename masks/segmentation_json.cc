// File: masks/segmentation_json.cc
#include "masks/segmentation_json.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "port/json_types.h"

namespace sniper::masks {
namespace {

namespace dom = simdjson::dom;

absl::Status Error(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

absl::Status Expected(const std::string& where, absl::string_view what,
                      dom::element v) {
  return Error(
      where, absl::StrCat("expected ", what, ", got ", JsonTypeName(v.type())));
}

// A non-negative integer (integral doubles too, as Python writes 3.0).
absl::Status Count(dom::element v, const std::string& where, int64_t* out) {
  if (v.type() == dom::element_type::INT64) {
    *out = v.get_int64().value_unsafe();
  } else if (v.type() == dom::element_type::UINT64) {
    return Error(where, "integer too large");
  } else if (v.type() == dom::element_type::DOUBLE) {
    const double d = v.get_double().value_unsafe();
    if (!(d == std::floor(d)) || std::fabs(d) > 9e15) {
      return Error(where, absl::StrCat("expected an integer, got ", d));
    }
    *out = static_cast<int64_t>(d);
  } else {
    return Expected(where, "an integer", v);
  }
  if (*out < 0) return Error(where, absl::StrCat("negative (", *out, ")"));
  return absl::OkStatus();
}

absl::StatusOr<Segmentation> Polygons(dom::array polygons,
                                      const std::string& name) {
  Segmentation s;
  s.kind = Segmentation::Kind::kPolygons;
  std::vector<double> xy;
  size_t i = 0;
  for (dom::element p : polygons) {
    const std::string where = absl::StrCat(name, "[", i++, "]");
    dom::array coords;
    if (p.get_array().get(coords)) {
      return Expected(where, "a polygon [x0, y0, x1, y1, ...]", p);
    }
    xy.clear();
    for (dom::element c : coords) {
      if (!IsJsonNumber(c.type())) {
        return Expected(absl::StrCat(where, "[", xy.size(), "]"), "a number",
                        c);
      }
      const double v = c.get_double().value_unsafe();
      if (!std::isfinite(v)) {
        return Error(absl::StrCat(where, "[", xy.size(), "]"),
                     "number is not finite");
      }
      xy.push_back(v);
    }
    if (xy.size() % 2 != 0) {
      return Error(where,
                   absl::StrCat("odd number of coordinates (", xy.size(), ")"));
    }
    s.AddPolygon(xy);
  }
  return s;
}

absl::StatusOr<Segmentation> RleObject(dom::object o, const std::string& name) {
  dom::element size_v, counts_v;
  if (o.at_key("size").get(size_v)) {
    return Error(name, "RLE without \"size\"");
  }
  if (o.at_key("counts").get(counts_v)) {
    return Error(name, "RLE without \"counts\"");
  }
  const std::string size_at = name + ".size";
  dom::array size;
  if (size_v.get_array().get(size) || size.size() != 2) {
    return Error(size_at, "expected [height, width]");
  }
  int64_t hw[2] = {0, 0};
  int k = 0;
  for (dom::element v : size) {
    if (absl::Status s = Count(v, absl::StrCat(size_at, "[", k, "]"), &hw[k]);
        !s.ok()) {
      return s;
    }
    if (hw[k] > (1 << 20)) {
      return Error(absl::StrCat(size_at, "[", k, "]"),
                   absl::StrCat("must be at most 1048576, got ", hw[k]));
    }
    ++k;
  }
  const int32_t h = static_cast<int32_t>(hw[0]);
  const int32_t w = static_cast<int32_t>(hw[1]);
  const std::string counts_at = name + ".counts";
  absl::StatusOr<Rle> rle;
  if (counts_v.type() == dom::element_type::STRING) {
    const std::string_view text = counts_v.get_string().value_unsafe();
    rle = RleFromCompressedString(absl::string_view(text.data(), text.size()),
                                  h, w);
  } else {
    dom::array arr;
    if (counts_v.get_array().get(arr)) {
      return Expected(counts_at, "an array of run lengths or a string",
                      counts_v);
    }
    std::vector<int64_t> counts;
    counts.reserve(arr.size());
    for (dom::element v : arr) {
      int64_t c = 0;
      if (absl::Status s =
              Count(v, absl::StrCat(counts_at, "[", counts.size(), "]"), &c);
          !s.ok()) {
        return s;
      }
      counts.push_back(c);
    }
    rle = RleFromCounts(counts, h, w);
  }
  if (!rle.ok()) return Error(counts_at, rle.status().message());
  return Segmentation::FromRle(*std::move(rle));
}

}  // namespace

absl::StatusOr<Segmentation> ParseSegmentationJson(dom::element value,
                                                   absl::string_view name) {
  const std::string where(name);
  dom::array polygons;
  if (!value.get_array().get(polygons)) return Polygons(polygons, where);
  dom::object rle;
  if (!value.get_object().get(rle)) return RleObject(rle, where);
  return Expected(where, "polygons or an RLE object", value);
}

}  // namespace sniper::masks
