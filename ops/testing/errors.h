// File: ops/testing/errors.h
//
// The message of the c10::Error a callable throws ("no error" if none), for
// tests of ops' input checks. Test-only.
#ifndef SNIPER_OPS_TESTING_ERRORS_H_
#define SNIPER_OPS_TESTING_ERRORS_H_

#include <c10/util/Exception.h>

#include <functional>
#include <string>

namespace sniper::testing {

inline std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "no error";
}

}  // namespace sniper::testing

#endif  // SNIPER_OPS_TESTING_ERRORS_H_
