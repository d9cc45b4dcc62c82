// RunMain: escaped exceptions, from main's body or another thread, end as
// one "error: ..." line and exit code 1.
#include "port/main_guard.h"

#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sniper {
namespace {

int Returns7(int, char**) { return 7; }
int Throws(int, char**) { throw std::runtime_error("boom at file x.json"); }
[[maybe_unused]] int OutOfMemory(int, char**) {
  // A real failed allocation, not a thrown stand-in.
  std::vector<char> v;
  v.reserve(static_cast<size_t>(1) << 62);
  return 0;
}
int ThrowsInt(int, char**) { throw 42; }
int ThreadThrows(int, char**) {
  std::thread t([] { throw std::logic_error("worker failed"); });
  t.join();
  return 0;
}

TEST(MainGuardTest, ReturnsTheBodysExitCode) {
  EXPECT_EQ(RunMain(0, nullptr, Returns7), 7);
}

TEST(MainGuardTest, EscapedExceptionIsOneLineAndExitOne) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain(0, nullptr, Throws), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "error: boom at file x.json\n");
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan reports the allocation itself
TEST(MainGuardTest, FailedAllocationSaysOutOfMemory) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain(0, nullptr, OutOfMemory), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "error: out of memory (std::bad_alloc)\n");
}
#endif

TEST(MainGuardTest, NonStandardExceptionIsStillOneLine) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain(0, nullptr, ThrowsInt), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "error: unknown exception\n");
}

TEST(MainGuardDeathTest, ExceptionInAnotherThreadExitsOneWithItsMessage) {
  EXPECT_EXIT(RunMain(0, nullptr, ThreadThrows), testing::ExitedWithCode(1),
              "^error: worker failed\n$");
}

}  // namespace
}  // namespace sniper
