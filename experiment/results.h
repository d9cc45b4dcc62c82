// File: experiment/results.h
//
// What one finished run (a cell of an experiment matrix) measured, read
// back from the files //sniper:train leaves in its work directory: the
// COCO numbers from eval_stats.json, the detector stage's optimizer steps,
// network pixels per image, images/s and peak memory from
// summary/detector.json, and the run's time as the sum of its stages'
// seconds (summary/*.json). Nothing is taken from logs. KeepRunResult
// copies those files (with the run's config and loss curve) out of a
// work directory into a small folder that can be committed.
//
//   ASSIGN_OR_RETURN(std::optional<RunResult> r, ReadRunResult(dir));
//   if (r.has_value()) table.Add(r->stats[kAp], r->pixels_per_image, ...);
#ifndef SNIPER_EXPERIMENT_RESULTS_H_
#define SNIPER_EXPERIMENT_RESULTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sniper::experiment {

// Indices into RunResult::stats (COCO's order).
inline constexpr int kAp = 0, kAp50 = 1, kAp75 = 2, kApSmall = 3, kApMedium = 4,
                     kApLarge = 5;

struct RunResult {
  std::vector<double> stats;       // the 12 COCO box numbers
  std::vector<double> mask_stats;  // the 12 segm numbers; empty without
  double steps = 0;                // detector stage's optimizer steps
  double pixels_per_image = 0;     // detector stage, network input
  double images_per_s = 0;         // detector stage
  double peak_rss_mib = 0;         // detector stage
  double detector_seconds = 0;
  double seconds = 0;  // every stage's, summed
};

// Whether the run in `dir` finished: its eval stage left its summary.
bool RunFinished(const std::string& dir);

// The finished run's numbers; nullopt when it has not finished. A file
// that is there but unreadable or lacks a field is an error naming both.
absl::StatusOr<std::optional<RunResult>> ReadRunResult(const std::string& dir);

// ReadRunResult on the work directory `dir`, else on the kept copy in
// `kept_dir` (when not empty): a cell finished on another machine.
absl::StatusOr<std::optional<RunResult>> ReadCellResult(
    const std::string& dir, const std::string& kept_dir);

// The files a finished run's numbers come from (eval_stats.json,
// summary/*.json) and what says how it ran (config.pbtxt, metrics.csv),
// copied from the work directory `run_dir` into `kept_dir`, which is
// replaced whole: written beside it, then renamed into place, so that a
// stopped copy leaves the old one. Fails when the run has not finished.
absl::Status KeepRunResult(const std::string& run_dir,
                           const std::string& kept_dir);

}  // namespace sniper::experiment

#endif  // SNIPER_EXPERIMENT_RESULTS_H_
