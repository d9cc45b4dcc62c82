// File: port/status_matchers.h
//
// GoogleTest helpers for absl::Status / absl::StatusOr (Debian's Abseil has
// no status_matchers.h). Test-only.
//
//   EXPECT_OK(Save(path));
//   ASSERT_OK_AND_ASSIGN(Dataset d, Load(path));
//   EXPECT_THAT(Load(bad), StatusIs(absl::StatusCode::kInvalidArgument,
//                                   HasSubstr("annotations[3].bbox")));
#ifndef SNIPER_PORT_STATUS_MATCHERS_H_
#define SNIPER_PORT_STATUS_MATCHERS_H_

#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_macros.h"

namespace sniper::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& status = ::sniper::testing::GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

}  // namespace sniper::testing

#define EXPECT_OK(expr)                                \
  EXPECT_TRUE(::sniper::testing::GetStatus(expr).ok()) \
      << ::sniper::testing::GetStatus(expr)
#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const ::absl::Status sniper_s_ = ::sniper::testing::GetStatus(expr); \
    ASSERT_TRUE(sniper_s_.ok()) << sniper_s_;                            \
  } while (false)

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  SNIPER_ASSERT_OK_AND_ASSIGN_IMPL(      \
      SNIPER_STATUS_CONCAT(sniper_statusor_, __LINE__), lhs, rexpr)
#define SNIPER_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                     \
  ASSERT_TRUE(tmp.ok()) << tmp.status();                  \
  lhs = std::move(tmp).value()

#endif  // SNIPER_PORT_STATUS_MATCHERS_H_
