#include "sniper/work_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sniper {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// What the holder wrote (its first line), or a note that it wrote nothing
// yet (it is between locking and writing).
std::string ReadHolder(int fd) {
  char buf[256];
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "holder not yet named";
  std::string s(buf, static_cast<size_t>(n));
  s = s.substr(0, s.find('\n'));
  return s.empty() ? "holder not yet named" : s;
}

}  // namespace

std::string WorkDirLockHolderLine() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "?");
  return absl::StrCat(
      "pid ", getpid(), " on host ", host, ", started ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
}

absl::StatusOr<WorkDirLock> WorkDirLock::Acquire(const std::string& dir) {
  std::string path = absl::StrCat(dir, "/", kFileName);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the work directory's lock ", path, ": ",
                     ErrnoText(errno)));
  }
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? ReadHolder(fd) : std::string();
    close(fd);
    if (err != EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot lock ", path, ": ", ErrnoText(err)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is in use by another run (", holder,
        "): one run per work directory; wait for it to end, stop it, or "
        "choose another --work_dir"));
  }
  // Ours: say who holds it (the next run reads this line).
  const std::string line = WorkDirLockHolderLine() + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line.data(), line.size(), 0) !=
                                   static_cast<ssize_t>(line.size())) {
    const int err = errno;
    close(fd);
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", ErrnoText(err)));
  }
  return WorkDirLock(fd, std::move(path));
}

WorkDirLock::WorkDirLock(WorkDirLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

WorkDirLock& WorkDirLock::operator=(WorkDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

WorkDirLock::~WorkDirLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

}  // namespace sniper
