// File: port/status_macros.h
//
// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
// Debian's Abseil (20220623) has Status and StatusOr but not the newer
// status_macros.h, so sniper-cpp carries these two small macros.
//
//   absl::StatusOr<Dataset> Load(const std::string& path) {
//     RETURN_IF_ERROR(CheckReadable(path));
//     ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     return Parse(text);
//   }
#ifndef SNIPER_PORT_STATUS_MACROS_H_
#define SNIPER_PORT_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SNIPER_STATUS_CONCAT_INNER(a, b) a##b
#define SNIPER_STATUS_CONCAT(a, b) SNIPER_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status sniper_status_ = (expr);          \
    if (!sniper_status_.ok()) return sniper_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (a declaration or an lvalue).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  SNIPER_ASSIGN_OR_RETURN_IMPL(      \
      SNIPER_STATUS_CONCAT(sniper_statusor_, __LINE__), lhs, rexpr)

#define SNIPER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

#endif  // SNIPER_PORT_STATUS_MACROS_H_
