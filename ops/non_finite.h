// File: ops/non_finite.h
//
// The error an op throws when it refuses non-finite input (CPU inputs are
// checked; on CUDA the check would cost a device sync per call). It is a
// c10::Error, so code that catches c10::Error still sees it, and a trainer
// can tell a diverged step (NaN proposals reaching NMS) from a bug by type
// instead of by message text:
//
//   SNIPER_CHECK_FINITE(at::isfinite(boxes).all().item<bool>(),
//                       "Nms: boxes has non-finite coordinates");
//   ...
//   } catch (const sniper::ops::NonFiniteInputError& e) {  // diverged
#ifndef SNIPER_OPS_NON_FINITE_H_
#define SNIPER_OPS_NON_FINITE_H_

#include <c10/util/Exception.h>

#include <cstdint>
#include <string>

namespace sniper::ops {

class NonFiniteInputError : public c10::Error {
 public:
  using c10::Error::Error;
};

}  // namespace sniper::ops

// Throws NonFiniteInputError with the streamed message when `cond` fails.
#define SNIPER_CHECK_FINITE(cond, ...)                            \
  do {                                                            \
    if (!(cond)) {                                                \
      throw ::sniper::ops::NonFiniteInputError(                   \
          ::c10::SourceLocation{__func__, __FILE__,               \
                                static_cast<uint32_t>(__LINE__)}, \
          ::c10::str(__VA_ARGS__));                               \
    }                                                             \
  } while (false)

#endif  // SNIPER_OPS_NON_FINITE_H_
