// File: data/coco_json_fields.h
//
// The COCO reader's typed access to simdjson DOM values (private to
// //data:coco_dataset): every error is InvalidArgument naming the file, the
// JSON path and, for a wrong type, what was there, e.g.
//   "instances.json: annotations[17].bbox[2]: expected a number, got string"
#ifndef SNIPER_DATA_COCO_JSON_FIELDS_H_
#define SNIPER_DATA_COCO_JSON_FIELDS_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "port/json_types.h"
#include "port/status_macros.h"
#include "simdjson.h"

namespace sniper::data::internal {

namespace dom = simdjson::dom;

// A JSON path such as annotations[17].bbox[2], built lazily: parsing
// creates these on the stack for every value, and only an error turns one
// into a string.
struct JsonPath {
  explicit JsonPath(const char* section_name, int64_t at = -1)
      : section(section_name), index(at) {}

  const char* section;
  int64_t index;
  std::string_view field;
  int64_t sub = -1;

  JsonPath Field(std::string_view f) const {
    JsonPath p = *this;
    p.field = f;
    return p;
  }
  JsonPath Sub(int64_t k) const {
    JsonPath p = *this;
    p.sub = k;
    return p;
  }
  std::string ToString() const {
    std::string out = section;
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
    if (!field.empty()) {
      absl::StrAppend(&out, ".", absl::string_view(field.data(), field.size()));
    }
    if (sub >= 0) absl::StrAppend(&out, "[", sub, "]");
    return out;
  }
};

class JsonFields {
 public:
  explicit JsonFields(absl::string_view source) : source_(source) {}

  absl::Status Error(absl::string_view path, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", path, ": ", message));
  }
  absl::Status Error(const JsonPath& path, absl::string_view message) const {
    return Error(path.ToString(), message);
  }
  absl::Status JsonError(absl::string_view path,
                         simdjson::error_code error) const {
    return Error(path, absl::StrCat("malformed JSON (",
                                    simdjson::error_message(error), ")"));
  }

  // Typed accessors: each names the path and the received type on error.
  absl::Status GetInt64(dom::element v, const JsonPath& path,
                        int64_t* out) const {
    const dom::element_type t = v.type();
    if (t == dom::element_type::INT64) {
      *out = v.get_int64().value_unsafe();
      return absl::OkStatus();
    }
    if (t == dom::element_type::DOUBLE) {
      // Accept integral floats (e.g. 3.0) that fit exactly.
      const double d = v.get_double().value_unsafe();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        *out = static_cast<int64_t>(d);
        return absl::OkStatus();
      }
      return Error(path, absl::StrCat("expected an integer, got ", d));
    }
    if (t == dom::element_type::UINT64) {
      return Error(path, "expected an integer, got one above 2^63");
    }
    return Error(path,
                 absl::StrCat("expected an integer, got ", JsonTypeName(t)));
  }
  absl::Status GetDouble(dom::element v, const JsonPath& path,
                         double* out) const {
    if (!IsJsonNumber(v.type())) {
      return Error(path, absl::StrCat("expected a number, got ",
                                      JsonTypeName(v.type())));
    }
    *out = v.get_double().value_unsafe();
    if (!std::isfinite(*out)) return Error(path, "number is not finite");
    return absl::OkStatus();
  }
  absl::Status GetString(dom::element v, const JsonPath& path,
                         std::string* out) const {
    if (v.type() != dom::element_type::STRING) {
      return Error(path, absl::StrCat("expected a string, got ",
                                      JsonTypeName(v.type())));
    }
    const std::string_view s = v.get_string().value_unsafe();
    out->assign(s.data(), s.size());
    return absl::OkStatus();
  }
  absl::Status GetArray(dom::element v, const JsonPath& path,
                        dom::array* out) const {
    if (v.type() != dom::element_type::ARRAY) {
      return Error(path, absl::StrCat("expected an array, got ",
                                      JsonTypeName(v.type())));
    }
    *out = v.get_array().value_unsafe();
    return absl::OkStatus();
  }
  absl::Status GetObject(dom::element v, const JsonPath& path,
                         dom::object* out) const {
    if (v.type() != dom::element_type::OBJECT) {
      return Error(path, absl::StrCat("expected an object, got ",
                                      JsonTypeName(v.type())));
    }
    *out = v.get_object().value_unsafe();
    return absl::OkStatus();
  }

  // Calls fn(path, object) for each element of the array `v`, the top-level
  // field `section`; stops at the first error.
  template <typename Fn>
  absl::Status ForEachObject(dom::element v, const char* section, Fn fn) const {
    dom::array arr;
    RETURN_IF_ERROR(GetArray(v, JsonPath(section), &arr));
    int64_t i = 0;
    for (dom::element elem : arr) {
      const JsonPath path(section, i++);
      dom::object obj;
      RETURN_IF_ERROR(GetObject(elem, path, &obj));
      RETURN_IF_ERROR(fn(path, obj));
    }
    return absl::OkStatus();
  }

 protected:
  std::string source_;
};

}  // namespace sniper::data::internal

#endif  // SNIPER_DATA_COCO_JSON_FIELDS_H_
