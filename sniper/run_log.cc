#include "sniper/run_log.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace sniper {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = static_cast<int64_t>(std::lround(s));
  if (t >= 3600) {
    return absl::StrFormat("%dh%02dm", t / 3600, (t / 60) % 60);
  }
  return absl::StrFormat("%dm%02ds", t / 60, t % 60);
}

RunLog::RunLog(const std::string& path, bool progress, bool echo)
    : file_(path.empty() ? nullptr : std::fopen(path.c_str(), "a")),
      progress_(progress),
      echo_(echo),
      tty_(isatty(fileno(stderr)) != 0) {}

RunLog::~RunLog() {
  EndProgress();
  if (file_ != nullptr) std::fclose(file_);
}

void RunLog::Line(const std::string& line) {
  EndProgress();
  if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
  ToFile(line);
}

void RunLog::Progress(const std::string& line) {
  ToFile(line);
  if (!progress_) return;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    open_line_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void RunLog::EndProgress() {
  if (open_line_) std::fprintf(stderr, "\n");
  open_line_ = false;
}

void RunLog::ToFile(const std::string& line) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "%s\n", line.c_str());
  std::fflush(file_);
}

}  // namespace sniper
