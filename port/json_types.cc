// File: port/json_types.cc
#include "port/json_types.h"

namespace sniper {

const char* JsonTypeName(simdjson::dom::element_type type) {
  using T = simdjson::dom::element_type;
  switch (type) {
    case T::ARRAY:
      return "array";
    case T::OBJECT:
      return "object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "number";
    case T::STRING:
      return "string";
    case T::BOOL:
      return "boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

bool IsJsonNumber(simdjson::dom::element_type type) {
  using T = simdjson::dom::element_type;
  return type == T::INT64 || type == T::UINT64 || type == T::DOUBLE;
}

}  // namespace sniper
