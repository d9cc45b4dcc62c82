#include "sniper/stop_signals.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace sniper {
namespace {

// In a child process (the handlers are process-wide): the first signal
// is recorded and the process goes on; the second ends it by that signal.
TEST(StopSignalsTest, FirstSignalRequestsSecondStops) {
  for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) {
    int report[2];
    ASSERT_EQ(pipe(report), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      InstallStopSignals();
      raise(sig);
      const char ok = StopRequested() == sig ? 'y' : 'n';
      (void)!write(report[1], &ok, 1);
      raise(sig);  // ends the process
      _exit(0);
    }
    close(report[1]);
    char ok = 0;
    EXPECT_EQ(read(report[0], &ok, 1), 1);
    close(report[0]);
    EXPECT_EQ(ok, 'y') << StopSignalName(sig);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << StopSignalName(sig);
    EXPECT_EQ(WTERMSIG(status), sig);
  }
}

TEST(StopSignalsTest, RequestKeepsTheFirst) {
  ClearStopRequest();
  EXPECT_EQ(StopRequested(), 0);
  RequestStop(SIGUSR1);
  RequestStop(SIGTERM);
  EXPECT_EQ(StopRequested(), SIGUSR1);
  EXPECT_EQ(StopSignalName(StopRequested()), "SIGUSR1");
  EXPECT_EQ(StopSignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(StopSignalName(99), "signal 99");
  ClearStopRequest();
  EXPECT_EQ(StopRequested(), 0);
}

}  // namespace
}  // namespace sniper
