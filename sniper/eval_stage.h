// File: sniper/eval_stage.h
//
// SNIPER's last stage (SNIPER.md section 8): the detector
// (options.checkpoint: <work_dir>/detector/final.pt, or //sniper:eval's
// --checkpoint) on the validation split with every test scale
// (inference/detector.h), scored with our COCO evaluator. Writes
// detections_val.json (COCO results), eval_stats.json (the 12 numbers, AP
// per category, speed and network pixels) and, with draw_example,
// detections.png in options.out_dir; logs the COCO table and, with an event
// writer, TensorBoard scalars eval/AP... Rank 0 evaluates.
//
//   ASSIGN_OR_RETURN(RunSummary run, EvaluateRun(pipeline, options));
#ifndef SNIPER_SNIPER_EVAL_STAGE_H_
#define SNIPER_SNIPER_EVAL_STAGE_H_

#include "absl/status/statusor.h"
#include "sniper/stage.h"

namespace sniper {

// The stage within a run (sniper/trainer.h). `val`: the validation split
// (its annotations file is the ground truth).
absl::StatusOr<StageSummary> RunEvalStage(const EvalStageOptions& options,
                                          const Split& val, const RunEnv& env);

// The stage alone, as //sniper:eval runs it: one process on
// PipelineConfig.device, the log appended to <work_dir>/train.log,
// TensorBoard scalars in <work_dir>.
absl::StatusOr<RunSummary> EvaluateRun(const Pipeline& pipeline,
                                       const RunOptions& options);

}  // namespace sniper

#endif  // SNIPER_SNIPER_EVAL_STAGE_H_
