// File: port/json_types.h
//
// simdjson DOM types in words, for errors such as
// "annotations[3].bbox[1]: expected a number, got string".
#ifndef SNIPER_PORT_JSON_TYPES_H_
#define SNIPER_PORT_JSON_TYPES_H_

#include "simdjson.h"

namespace sniper {

// "array", "object", "number", "string", "boolean", "null".
const char* JsonTypeName(simdjson::dom::element_type type);
// INT64, UINT64 or DOUBLE.
bool IsJsonNumber(simdjson::dom::element_type type);

}  // namespace sniper

#endif  // SNIPER_PORT_JSON_TYPES_H_
