#include "experiment/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "experiment/results.h"
#include "port/status_macros.h"

extern char** environ;

namespace sniper::experiment {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

// SIGINT and SIGTERM set g_stop while it lives; the old handlers return.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
};

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The last non-empty line of the file (its last 4 KiB), at most 110
// characters; empty when unreadable.
std::string LastLine(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  const long from = std::max(0L, size - 4096);
  std::fseek(f, from, SEEK_SET);
  std::string tail(static_cast<size_t>(size - from), '\0');
  tail.resize(std::fread(tail.data(), 1, tail.size(), f));
  std::fclose(f);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) {
    tail.pop_back();
  }
  const size_t nl = tail.find_last_of("\r\n");
  std::string line = nl == std::string::npos ? tail : tail.substr(nl + 1);
  if (line.size() > 110) line = line.substr(0, 107) + "...";
  return line;
}

// The last `n` lines of the file.
std::string LastLines(const std::string& path, int n) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  std::string all;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) all.append(buf, got);
  std::fclose(f);
  size_t pos = all.size();
  while (pos > 0 && all[pos - 1] == '\n') --pos;
  for (int k = 0; k < n && pos != std::string::npos && pos > 0; ++k) {
    pos = all.rfind('\n', pos - 1);
  }
  return all.substr(pos == std::string::npos ? 0 : pos + 1);
}

// Durations of finished cells, per variant, for the ETA.
class Estimator {
 public:
  void Add(int variant, double seconds) {
    seconds_[variant].push_back(seconds);
  }
  // A cell of `variant`: the mean of its variant's, else of all; < 0 when
  // nothing has finished.
  double Cell(int variant) const {
    double sum = 0;
    int n = 0;
    for (const auto& [v, list] : seconds_) {
      if (v != variant) continue;
      for (double s : list) sum += s, ++n;
    }
    if (n > 0) return sum / n;
    for (const auto& [v, list] : seconds_) {
      for (double s : list) sum += s, ++n;
    }
    return n > 0 ? sum / n : -1;
  }

 private:
  std::map<int, std::vector<double>> seconds_;
};

struct Running {
  pid_t pid = -1;
  int status = 0;
};

absl::StatusOr<pid_t> Spawn(const std::string& binary,
                            const std::vector<std::string>& args,
                            const std::string& log_path) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr,
                             argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", binary, ": ", std::strerror(rc)));
  }
  return pid;
}

class Runner {
 public:
  Runner(const Matrix& m, const RunnerOptions& o) : m_(m), o_(o) {}

  absl::StatusOr<RunnerReport> Run();

 private:
  void Print(const std::string& line) const {
    if (o_.print) {
      o_.print(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  bool Selected(const Cell& c) const {
    return o_.only.empty() ||
           std::find(o_.only.begin(), o_.only.end(),
                     m_.variants[c.variant].name) != o_.only.end();
  }
  std::string Name(const Cell& c) const {
    return absl::StrCat(m_.variants[c.variant].name, " seed ", c.seed);
  }
  // Seconds the cells after `k` (unfinished) should take; < 0: unknown.
  double RemainingAfter(size_t k) const;
  // Runs one cell to its end; a failed process is an error.
  absl::Status RunCell(const Cell& c, size_t k);

  const Matrix& m_;
  const RunnerOptions& o_;
  std::vector<const Cell*> order_;
  std::vector<bool> done_;
  Estimator estimate_;
};

double Runner::RemainingAfter(size_t k) const {
  double total = 0;
  for (size_t j = k + 1; j < order_.size(); ++j) {
    if (done_[j]) continue;
    const double s = estimate_.Cell(order_[j]->variant);
    if (s < 0) return -1;
    total += s;
  }
  return total;
}

absl::Status Runner::RunCell(const Cell& c, size_t k) {
  std::error_code ec;
  fs::create_directories(c.dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", c.dir, ": ", ec.message()));
  }
  std::vector<std::string> args = c.args;
  args.push_back("--resume");  // continues a stopped cell; fine on a new one
  args.push_back("--quiet");
  const std::string log = c.dir + "/experiment.log";
  Print(absl::StrCat("[experiment] ", k + 1, "/", order_.size(), " ", Name(c),
                     ": ", o_.train_binary, " ", absl::StrJoin(args, " ")));
  absl::StatusOr<pid_t> pid = Spawn(o_.train_binary, args, log);
  if (!pid.ok()) return pid.status();
  const Clock::time_point start = Clock::now();
  Clock::time_point last_beat = start;
  int status = 0;
  while (true) {
    const pid_t got = waitpid(*pid, &status, WNOHANG);
    if (got == *pid) break;
    if (g_stop) {
      kill(*pid, SIGTERM);
      waitpid(*pid, &status, 0);
      return absl::CancelledError(
          absl::StrCat("stopped during ", Name(c), "; run again to resume it"));
    }
    if (o_.heartbeat_s > 0 && Since(last_beat) >= o_.heartbeat_s) {
      last_beat = Clock::now();
      const double cell = estimate_.Cell(c.variant);
      const double rest = RemainingAfter(k);
      const double elapsed = Since(start);
      std::string eta = "matrix ETA after the first cell";
      if (cell >= 0 && rest >= 0) {
        eta = absl::StrCat("matrix ETA ",
                           FormatSeconds(std::max(0.0, cell - elapsed) + rest));
      }
      Print(absl::StrCat("[experiment] ", k + 1, "/", order_.size(), " ",
                         Name(c), ", ", FormatSeconds(elapsed), ": ",
                         LastLine(c.dir + "/train.log"), " | ", eta));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how =
        WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                          : absl::StrCat("signal ", WTERMSIG(status));
    return absl::InternalError(absl::StrCat(Name(c), " failed (", how,
                                            "); the end of ", log, ":\n",
                                            LastLines(log, 5)));
  }
  if (!RunFinished(c.dir)) {
    return absl::InternalError(absl::StrCat(
        Name(c), ": the process ended without the eval stage's summary (",
        c.dir, "/summary/eval.json); see ", log));
  }
  Print(absl::StrCat("[experiment] ", k + 1, "/", order_.size(), " ", Name(c),
                     " done in ", FormatSeconds(Since(start))));
  return absl::OkStatus();
}

absl::StatusOr<RunnerReport> Runner::Run() {
  // Seed by seed across the variants, so that a stopped matrix has every
  // variant's first seeds.
  for (const Cell& c : m_.cells) {
    if (Selected(c)) order_.push_back(&c);
  }
  std::stable_sort(order_.begin(), order_.end(),
                   [](const Cell* a, const Cell* b) {
                     return a->seed_index < b->seed_index;
                   });
  RunnerReport report;
  ASSIGN_OR_RETURN(report.kept, KeepFinishedCells(m_));
  if (report.kept > 0) {
    Print(absl::StrCat("[experiment] ", report.kept, " finished cells kept in ",
                       m_.results_dir));
  }
  done_.assign(order_.size(), false);
  for (size_t k = 0; k < order_.size(); ++k) {
    absl::StatusOr<std::optional<RunResult>> r =
        ReadCellResult(order_[k]->dir, order_[k]->kept_dir);
    if (r.ok() && r->has_value()) {
      done_[k] = true;
      ++report.skipped;
      estimate_.Add(order_[k]->variant, (*r)->seconds);
    }
  }
  if (report.skipped > 0) {
    Print(absl::StrCat("[experiment] ", report.skipped, " of ", order_.size(),
                       " cells finished before; running the other ",
                       order_.size() - report.skipped));
  }
  StopSignals signals;
  std::vector<std::string> failures;
  for (size_t k = 0; k < order_.size(); ++k) {
    if (done_[k]) continue;
    const Cell& c = *order_[k];
    const absl::Status s = RunCell(c, k);
    if (absl::IsCancelled(s)) return s;
    if (!s.ok()) {
      ++report.failed;
      failures.push_back(std::string(s.message()));
      Print(absl::StrCat("[experiment] ", s.message()));
      if (!o_.keep_going) return s;
      continue;
    }
    done_[k] = true;
    ++report.ran;
    absl::StatusOr<std::optional<RunResult>> r = ReadRunResult(c.dir);
    if (!r.ok()) return r.status();
    if (!c.kept_dir.empty()) {
      RETURN_IF_ERROR(KeepRunResult(c.dir, c.kept_dir));
      ++report.kept;
      Print(absl::StrCat("[experiment] ", Name(c), " kept in ", c.kept_dir));
    }
    estimate_.Add(c.variant, (*r)->seconds);
  }
  if (!failures.empty()) {
    return absl::InternalError(absl::StrCat(
        failures.size(), " cells failed; the first: ", failures.front()));
  }
  return report;
}

}  // namespace

std::string FormatSeconds(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

absl::StatusOr<int> KeepFinishedCells(const Matrix& matrix) {
  int kept = 0;
  for (const Cell& c : matrix.cells) {
    if (c.kept_dir.empty() || !RunFinished(c.dir)) continue;
    RETURN_IF_ERROR(KeepRunResult(c.dir, c.kept_dir));
    ++kept;
  }
  return kept;
}

absl::StatusOr<RunnerReport> RunMatrix(const Matrix& matrix,
                                       const RunnerOptions& options) {
  if (options.train_binary.empty() ||
      access(options.train_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the train binary \"", options.train_binary,
                     "\" is not an executable file (--train_binary)"));
  }
  for (const std::string& v : options.only) {
    bool known = false;
    for (const VariantInfo& info : matrix.variants) known |= info.name == v;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("--only: the matrix has no variant \"", v, "\""));
    }
  }
  Runner runner(matrix, options);
  return runner.Run();
}

}  // namespace sniper::experiment
