// File: sniper/work_dir_lock.h
//
// One run per work directory: the run's process (rank 0 of a process
// group, for the group) holds an exclusive flock(2) on <dir>/run.lock for
// as long as it lives. A second run on the same directory, --resume and
// --overwrite included, fails at once with an error naming the holder
// (pid, host and start time, which the holder wrote into the file). The
// kernel releases the lock when the holder's process ends however it
// ends (SIGKILL included), so a killed run never leaves a stale lock: the
// file stays, the lock does not. Torch-free.
//
//   ASSIGN_OR_RETURN(WorkDirLock lock, WorkDirLock::Acquire(work_dir));
//   ... train; the lock is released when `lock` is destroyed ...
#ifndef SNIPER_SNIPER_WORK_DIR_LOCK_H_
#define SNIPER_SNIPER_WORK_DIR_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace sniper {

class WorkDirLock {
 public:
  // The lock file's name inside the work directory.
  static constexpr char kFileName[] = "run.lock";

  // Locks `dir` (which must exist) for this process. FailedPrecondition
  // when another open of the file holds it: "<dir> is in use by another
  // run (pid 4242 on host vm, started 2026-12-06T05:40:00Z); ...".
  static absl::StatusOr<WorkDirLock> Acquire(const std::string& dir);

  WorkDirLock(WorkDirLock&& other) noexcept;
  WorkDirLock& operator=(WorkDirLock&& other) noexcept;
  WorkDirLock(const WorkDirLock&) = delete;
  WorkDirLock& operator=(const WorkDirLock&) = delete;
  ~WorkDirLock();

  const std::string& path() const { return path_; }

 private:
  WorkDirLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

// "pid 4242 on host vm, started 2026-12-06T05:40:00Z": what a holder
// writes for this process now.
std::string WorkDirLockHolderLine();

}  // namespace sniper

#endif  // SNIPER_SNIPER_WORK_DIR_LOCK_H_
