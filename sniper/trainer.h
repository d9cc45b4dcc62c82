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
// also written to <work_dir>/config.pbtxt. Resuming restarts the loader at the saved
// (epoch, batch): on the CPU, an interrupted and resumed run reaches
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

namespace sniper {

struct RunOptions {
  // Run only this stage (its inputs must exist: e.g. the detector stage
  // with source RPN needs the proposals file).
  std::optional<Stage> only_stage;
  // Continue from the latest checkpoint of each stage; finished stages are
  // skipped. Without it, a work directory that holds checkpoints is an
  // error (pass --overwrite to start over).
  bool resume = false;
  bool overwrite = false;
  // Tests: stop the current training stage after this global step (as if
  // interrupted), after writing a checkpoint there. 0: never.
  int64_t interrupt_after_step = 0;
  // Print progress lines to stderr (the log file gets them regardless).
  bool progress = true;
  // The eval stage evaluates this checkpoint instead of
  // <work_dir>/detector/final.pt (//sniper:eval --checkpoint).
  std::string checkpoint;
};

// What a run did, for the summary and tests.
struct StageSummary {
  Stage stage = Stage::kDetector;
  bool skipped = false;  // already finished (resume)
  bool interrupted = false;
  int64_t steps = 0;  // training stages: the stage's step count reached
  int64_t chips = 0;
  double seconds = 0;
  int64_t nonfinite_steps = 0;
  int64_t skipped_chips = 0;  // loader kSkip
  double final_loss = 0;
  // proposals: images and proposals written; eval: the 12 COCO numbers.
  int64_t images = 0;
  int64_t proposals = 0;
  std::vector<double> coco_stats;
};

struct RunSummary {
  std::vector<StageSummary> stages;
  std::string work_dir;
};

// Runs the pipeline's stages in order (or `options.only_stage`).
absl::StatusOr<RunSummary> RunPipeline(const Pipeline& pipeline,
                                       const RunOptions& options);

}  // namespace sniper

#endif  // SNIPER_SNIPER_TRAINER_H_
