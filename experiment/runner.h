// File: experiment/runner.h
//
// Runs an experiment matrix's cells one after another, each as its own
// //sniper:train process in its own work directory, so that a stopped
// matrix continues where it stopped: a finished cell (its eval summary is
// there) is skipped, an unfinished one resumes from its checkpoints
// (--resume). A cell's output goes to <dir>/experiment.log; the runner
// prints one line per cell and, while a cell runs, a heartbeat with the
// cell's latest progress line and the ETA of the whole matrix (from the
// durations of the cells finished so far, per variant). When the matrix
// keeps results (results_dir), every finished cell's files are copied
// there, and a cell kept there counts as finished even without its work
// directory: a matrix carries on from a fresh clone on another machine.
//
//   RunnerOptions o;
//   o.train_binary = "bazel-bin/sniper/train";
//   ASSIGN_OR_RETURN(RunnerReport r, RunMatrix(matrix, o));
#ifndef SNIPER_EXPERIMENT_RUNNER_H_
#define SNIPER_EXPERIMENT_RUNNER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiment/matrix.h"

namespace sniper::experiment {

struct RunnerOptions {
  std::string train_binary;
  // Run only these variants (empty: all).
  std::vector<std::string> only;
  // Go on to the next cell after a failed one (the report counts it).
  bool keep_going = false;
  // Seconds between heartbeat lines while a cell runs (<= 0: none).
  double heartbeat_s = 60;
  // Where progress lines go (stderr when unset).
  std::function<void(const std::string&)> print;
};

struct RunnerReport {
  int ran = 0;      // cells trained to the end now
  int skipped = 0;  // finished before
  int failed = 0;
  int kept = 0;  // copies written to the matrix's results_dir
};

// Runs every unfinished cell (of `options.only`). Fails on the first cell
// whose process fails (unless keep_going), naming the cell and its log, or
// when SIGINT/SIGTERM arrives (the cell's process is stopped; its
// checkpoints let the next run resume it).
absl::StatusOr<RunnerReport> RunMatrix(const Matrix& matrix,
                                       const RunnerOptions& options);

// Copies every cell finished in its work directory into its kept_dir
// (replacing a missing or stale copy; none when the matrix keeps no
// results); how many. RunMatrix does it first, --report_only too.
absl::StatusOr<int> KeepFinishedCells(const Matrix& matrix);

// "1h02m", "12m05s", "45s".
std::string FormatSeconds(double seconds);

}  // namespace sniper::experiment

#endif  // SNIPER_EXPERIMENT_RUNNER_H_
