// File: sniper/run_log.h
//
// The run's log: progress lines to stderr (rewritten in place on a
// terminal) and every line to <work_dir>/train.log; and the clock the
// stages time themselves with.
//
//   RunLog log(work_dir + "/train.log", /*progress=*/true);
//   log.Progress("[rpn] step 10/246 ...");
//   log.Line(absl::StrCat("done in ", FormatDuration(Seconds(start))));
#ifndef SNIPER_SNIPER_RUN_LOG_H_
#define SNIPER_SNIPER_RUN_LOG_H_

#include <chrono>
#include <cstdio>
#include <string>

namespace sniper {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since);
// "4m05s", "1h02m"; "?" for a negative or non-finite duration.
std::string FormatDuration(double seconds);

// Progress to stderr (rewritten in place on a terminal) and every line to
// the log file (none for an empty path).
class RunLog {
 public:
  RunLog(const std::string& path, bool progress, bool echo = true);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void Line(const std::string& line);
  // Goes to the log file, and to stderr only when progress is on.
  void Progress(const std::string& line);

 private:
  void EndProgress();
  void ToFile(const std::string& line);

  std::FILE* file_;
  bool progress_, echo_, tty_;
  bool open_line_ = false;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_RUN_LOG_H_
