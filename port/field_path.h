// File: port/field_path.h
//
// Config builders name the field an error is about by its full path from
// the message the user wrote: a builder takes the path of its own message
// ("ChipSamplerConfig" alone, "PipelineConfig.sampler" inside the
// pipeline) and appends the field.
//
//   absl::StatusOr<Options> BuildFoo(const FooConfig& c,
//                                    const std::string& path = "FooConfig") {
//     if (c.size() < 1) {
//       return InvalidField(path, "size", absl::StrCat("must be >= 1, got ",
//                                                       c.size()));
//     }
//   // "PipelineConfig.foo.size: must be >= 1, got 0"
#ifndef SNIPER_PORT_FIELD_PATH_H_
#define SNIPER_PORT_FIELD_PATH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sniper {

// "<path>.<field>" (just `path` for an empty field).
inline std::string FieldPath(absl::string_view path, absl::string_view field) {
  return field.empty() ? std::string(path) : absl::StrCat(path, ".", field);
}

// InvalidArgument "<path>.<field>: <rule>".
inline absl::Status InvalidField(absl::string_view path,
                                 absl::string_view field,
                                 absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(FieldPath(path, field), ": ", rule));
}

}  // namespace sniper

#endif  // SNIPER_PORT_FIELD_PATH_H_
