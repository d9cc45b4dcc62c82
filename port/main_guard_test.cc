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
int ThrowsWithBacktrace(int, char**) {
  // The shape of LibTorch's c10::Error::what(): message, then the backtrace.
  throw std::runtime_error(
      "shape mismatch\nException raised from check at a.cpp:9 (most recent "
      "call first):\nframe #0: f() + 0x10\nframe #1: g() + 0x20\n");
}
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

TEST(MainGuardTest, LibraryBacktraceIsCutFromTheLine) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain(0, nullptr, ThrowsWithBacktrace), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: shape mismatch\n");
}

TEST(OneLineMessageTest, FoldsLineBreaksAndTheirBlanks) {
  EXPECT_EQ(OneLineMessage("a\n  b \r\n\tc\n\n"), "a b c");
  EXPECT_EQ(OneLineMessage("  lead stays, trail goes  "),
            "  lead stays, trail goes");
  EXPECT_EQ(OneLineMessage("no breaks"), "no breaks");
  EXPECT_EQ(OneLineMessage(""), "");
}

TEST(OneLineMessageTest, CutsOnlyAtALineStartingTheBacktrace) {
  EXPECT_EQ(OneLineMessage("x\n  context: y\nException raised from z\nframe"),
            "x context: y");
  EXPECT_EQ(OneLineMessage("Exception raised from z\nframe #0"), "");
  // Not at a line start: part of the message.
  EXPECT_EQ(OneLineMessage("says Exception raised from z"),
            "says Exception raised from z");
}

TEST(MainGuardDeathTest, ExceptionInAnotherThreadExitsOneWithItsMessage) {
  EXPECT_EXIT(RunMain(0, nullptr, ThreadThrows), testing::ExitedWithCode(1),
              "^error: worker failed\n$");
}

}  // namespace
}  // namespace sniper
