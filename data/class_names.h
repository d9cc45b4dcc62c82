// File: data/class_names.h
//
// Class-name lists as datasets ship them: Ultralytics' data.yaml ("names:"
// as a list, or as a map from index 0..K-1 to name) parsed by libyaml, or
// darknet's obj.names / classes.txt (one name per line). Errors name the
// file and line, e.g.
//   "data.yaml:7: names: index 3 missing (indices must be 0..4)"
#ifndef SNIPER_DATA_CLASS_NAMES_H_
#define SNIPER_DATA_CLASS_NAMES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sniper::data {

// The "names" entry of a YAML document's top-level mapping. An "nc" entry,
// when present, must equal the number of names.
absl::StatusOr<std::vector<std::string>> ParseYamlClassNames(
    absl::string_view yaml, absl::string_view source);

// One name per non-blank line, surrounding whitespace removed.
absl::StatusOr<std::vector<std::string>> ParseLineClassNames(
    absl::string_view text, absl::string_view source);

// Either, by the file's extension (.yaml or .yml: YAML). Names must be
// non-empty and distinct.
absl::StatusOr<std::vector<std::string>> ReadClassNamesFile(
    const std::string& path);

}  // namespace sniper::data

#endif  // SNIPER_DATA_CLASS_NAMES_H_
