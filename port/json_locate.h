// File: port/json_locate.h
//
// Where a JSON document that a parser refused as a whole goes wrong, as a
// path: simdjson's DOM parser rejects a number that does not fit (1e999,
// an integer beyond 64 bits) for the whole document, without a location.
// This scans the text (strings, escapes, nesting) once and names the first
// such number by its JSON path and line:
//   FindOutOfRangeNumber(R"({"images": [{"id": 18446744073709551616}]})")
//     -> "images[0].id (line 1): 18446744073709551616"
// Torch-free, allocation only for the path.
#ifndef SNIPER_PORT_JSON_LOCATE_H_
#define SNIPER_PORT_JSON_LOCATE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sniper {

// The first number token that is an integer outside [-2^63, 2^64) or a
// number whose magnitude overflows a double, as "<path> (line N): <token>"
// ("$" for the root); nullopt when there is none (or the text is not
// well-formed enough to tell).
std::optional<std::string> FindOutOfRangeNumber(absl::string_view json);

}  // namespace sniper

#endif  // SNIPER_PORT_JSON_LOCATE_H_
