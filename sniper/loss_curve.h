// File: sniper/loss_curve.h
//
// The loss curves of a run's training stages as one picture: a panel per
// stage (log y), the total in black and each loss term the stage trained
// in its colour. //sniper:train writes <work_dir>/loss_curve.png from the
// histories RunPipeline returns; the trainer itself draws nothing.
// //tools:loss_curve draws it again from a run's metrics.csv.
//
//   ASSIGN_OR_RETURN(RunSummary run, RunPipeline(pipeline, options));
//   ASSIGN_OR_RETURN(bool drawn, WriteLossCurve(path, run.losses));
#ifndef SNIPER_SNIPER_LOSS_CURVE_H_
#define SNIPER_SNIPER_LOSS_CURVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sniper/metrics.h"

namespace sniper {

// One training stage's losses and the title of its panel.
struct StageLosses {
  std::string title;  // e.g. "rpn stage: short-schedule RPN loss"
  LossHistory history;
};

// The panel title of a training stage's losses, e.g. "rpn stage:
// short-schedule RPN loss".
std::string LossPanelTitle(absl::string_view stage);

// The training stages' losses as a run's metrics.csv holds them (its
// header names the columns: stage, step, loss, then the loss terms among
// the others, sniper/metrics.h's IsLossTerm; a stage's terms are the
// columns with values in its rows), in the order the stages first appear.
// Errors name the file and line.
absl::StatusOr<std::vector<StageLosses>> LossesFromMetricsCsv(
    const std::string& path);

// Writes the picture to `path` (PNG, atomically); false without a stage
// that logged a row (nothing written).
absl::StatusOr<bool> WriteLossCurve(const std::string& path,
                                    const std::vector<StageLosses>& stages);

}  // namespace sniper

#endif  // SNIPER_SNIPER_LOSS_CURVE_H_
