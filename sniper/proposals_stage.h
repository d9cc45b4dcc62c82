// File: sniper/proposals_stage.h
//
// SNIPER's second stage (SNIPER.md section 4): the short-schedule RPN
// (options.rpn_checkpoint) on every training image at every training
// scale, keeping negatives.proposals_per_scale proposals per image and
// scale after NMS at negatives.proposal_nms (options.model's test
// proposals), written to the proposals file (data/proposals.h) that the
// detector stage mines negative chips from. With several processes rank 0
// writes the file and the others wait for it. With options.keep_existing
// (resuming) an existing file is kept.
#ifndef SNIPER_SNIPER_PROPOSALS_STAGE_H_
#define SNIPER_SNIPER_PROPOSALS_STAGE_H_

#include "absl/status/statusor.h"
#include "sniper/stage.h"

namespace sniper {

// `train`: the training split. Rank 0 writes options.proposals_file.
absl::StatusOr<StageSummary> RunProposalsStage(
    const ProposalsStageOptions& options, const Split& train,
    const RunEnv& env);

}  // namespace sniper

#endif  // SNIPER_SNIPER_PROPOSALS_STAGE_H_
