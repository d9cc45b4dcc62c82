#include "sniper/work_dir_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(WorkDirLockTest, OneHolderAtATimeNamedInTheError) {
  const std::string dir = FreshDir("lock_one");
  {
    ASSERT_OK_AND_ASSIGN(WorkDirLock lock, WorkDirLock::Acquire(dir));
    EXPECT_EQ(lock.path(), dir + "/run.lock");
    EXPECT_THAT(FirstLine(lock.path()),
                StartsWith(absl::StrCat("pid ", getpid(), " on host ")));
    // A second open of the file (as a second run would make) is refused,
    // naming the holder, also in the same process.
    EXPECT_THAT(WorkDirLock::Acquire(dir).status(),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(absl::StrCat(dir,
                                                " is in use by another run "
                                                "(pid ",
                                                getpid(), " on host "))));
    // Moving the lock keeps it held.
    WorkDirLock moved = std::move(lock);
    EXPECT_FALSE(WorkDirLock::Acquire(dir).ok());
  }
  // Released with its holder; the file stays.
  EXPECT_TRUE(fs::exists(dir + "/run.lock"));
  ASSERT_OK_AND_ASSIGN(WorkDirLock again, WorkDirLock::Acquire(dir));
}

TEST(WorkDirLockTest, AKilledHolderLeavesNoStaleLock) {
  const std::string dir = FreshDir("lock_killed");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<WorkDirLock> lock = WorkDirLock::Acquire(dir);
    const char c = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    while (true) pause();  // killed by the parent
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y');
  EXPECT_THAT(WorkDirLock::Acquire(dir).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("(pid ", child, " on host "))));
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  // The kernel dropped the lock with the process: a new run takes it.
  ASSERT_OK_AND_ASSIGN(WorkDirLock lock, WorkDirLock::Acquire(dir));
  EXPECT_THAT(FirstLine(lock.path()),
              StartsWith(absl::StrCat("pid ", getpid(), " ")));
}

TEST(WorkDirLockTest, AMissingDirectoryIsAnError) {
  const std::string dir = ::testing::TempDir() + "/lock_missing/nowhere";
  EXPECT_THAT(WorkDirLock::Acquire(dir).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot open the work directory's lock " +
                                 dir + "/run.lock")));
}

}  // namespace
}  // namespace sniper
