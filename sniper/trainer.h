// File: sniper/trainer.h
//
// The SNIPER stages (SNIPER.md sections 4 and 7) as one resumable command:
//
//   rpn        train the RPN-only model on positive chips (short schedule)
//   proposals  run it on every training image at every training scale and
//              write the proposals file (data/proposals.h)
//   detector   train the full detector on positive + negative chips
//   eval       detect on the validation split, print the COCO table
//
// Each training stage writes <work_dir>/<stage>/ckpt-<step>.pt every
// output.checkpoint_every_steps steps and final.pt at its end, atomically
// (temp file, fsync, rename), keeping the last output.keep_checkpoints.
// sniper/checkpoint.h says what a checkpoint holds; the merged config is
// also written to <work_dir>/config.pbtxt. Resuming restarts the loader at the
// saved (epoch, batch): on the CPU, an interrupted and resumed run reaches
// bitwise the same weights as an uninterrupted one.
//
// Progress: a line per output.log_every_steps with step, epoch, losses,
// learning rate, chips/s, images/s and ETA (rewritten in place on a
// terminal), the same in <work_dir>/train.log, scalars in TensorBoard
// event files (<work_dir>/events.out.tfevents.*) and
// <work_dir>/metrics.csv, and <work_dir>/loss_curve.png at the end.
#ifndef SNIPER_SNIPER_TRAINER_H_
#define SNIPER_SNIPER_TRAINER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sniper/config.h"
#include "sniper/stage.h"

namespace sniper {

// Runs the pipeline's stages in order (or `options.only_stage`).
absl::StatusOr<RunSummary> RunPipeline(const Pipeline& pipeline,
                                       const RunOptions& options);

}  // namespace sniper

#endif  // SNIPER_SNIPER_TRAINER_H_
