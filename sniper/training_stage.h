// File: sniper/training_stage.h
//
// SNIPER's two training stages (SNIPER.md sections 4 and 7): the
// short-schedule RPN-only model on positive chips (Stage::kRpn) and the
// detector on positive + negative chips (Stage::kDetector, with the
// proposals the negatives are mined from).
//
// A stage builds its model (seeded; the backbone from init_backbone; rank
// 0's weights broadcast to the others; synchronized BN with
// distributed.sync_bn), its SGD and schedule (sniper/optimizer.h), then
// runs TrainStep (sniper/train_step.h) over the chip loader until the
// schedule's last step. Every output.log_every_steps it logs one Metrics
// row (sniper/metrics.h) to `metrics`; every checkpoint_every_steps it
// saves a rotating checkpoint (sniper/checkpoint.h), and final.pt at the
// end. It resumes from the newest checkpoint of an unfinished stage and
// skips a finished one (final.pt exists). A diverged step is skipped and
// counted; optimizer.max_nonfinite_steps_in_a_row of them in a row stop
// the stage.
//
//   LossHistorySink history;
//   MetricsFanout metrics;  // progress line, metrics.csv, TensorBoard, ...
//   metrics.AddUnowned(&history);
//   ASSIGN_OR_RETURN(StageSummary s,
//                    RunTrainingStage(pipeline.rpn_stage, data.train_split(),
//                                     nullptr, metrics, history, env));
#ifndef SNIPER_SNIPER_TRAINING_STAGE_H_
#define SNIPER_SNIPER_TRAINING_STAGE_H_

#include "absl/status/statusor.h"
#include "data/proposals.h"
#include "sniper/metrics.h"
#include "sniper/stage.h"

namespace sniper {

// `train`: the training split; `proposals` may be null (no negative
// chips). `history` must also be one of `metrics`' sinks: the stage resumes
// it from the checkpoint and saves it with each one.
absl::StatusOr<StageSummary> RunTrainingStage(
    const TrainingStageOptions& options, const Split& train,
    const data::ProposalSet* proposals, MetricsSink& metrics,
    LossHistorySink& history, const RunEnv& env);

}  // namespace sniper

#endif  // SNIPER_SNIPER_TRAINING_STAGE_H_
