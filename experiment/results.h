// File: experiment/results.h
//
// What one finished run (a cell of an experiment matrix) measured, read
// back from the files //sniper:train leaves in its work directory: the
// COCO numbers from eval_stats.json, the detector stage's optimizer steps,
// network pixels per image, images/s and peak memory from
// summary/detector.json, and the run's time as the sum of its stages'
// seconds (summary/*.json). Nothing is taken from logs.
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

}  // namespace sniper::experiment

#endif  // SNIPER_EXPERIMENT_RESULTS_H_
