// File: sniper/training_stage_impl.h
//
// Internal to the training_stage target: the TrainingStage class behind
// RunTrainingStage (sniper/training_stage.h). training_stage.cc has the
// model, schedule, loop, step and logging; training_checkpoints.cc the
// resume, skip and save.
#ifndef SNIPER_SNIPER_TRAINING_STAGE_IMPL_H_
#define SNIPER_SNIPER_TRAINING_STAGE_IMPL_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/chip_sampler.h"
#include "data/chips.h"
#include "data/proposals.h"
#include "sniper/checkpoint.h"
#include "sniper/distributed.h"
#include "sniper/loss_scaler.h"
#include "sniper/metrics.h"
#include "sniper/optimizer.h"
#include "sniper/stage.h"
#include "sniper/train_step.h"

namespace sniper::internal {

// Every random choice of a step derives from the seed, the stage and the
// step (step -1: the model's initialization).
inline uint64_t StepSeed(uint64_t seed, Stage stage, int64_t step) {
  return data::Mix64(seed * 0x9E3779B97F4A7C15ull +
                     (static_cast<uint64_t>(stage) << 48) +
                     static_cast<uint64_t>(step));
}

// The losses averaged over a logging window's applied steps, and its
// chips.
struct Window {
  Clock::time_point start = Clock::now();
  int64_t chips = 0, applied = 0;
  int64_t pixels = 0;         // network input pixels (batch tensors, all ranks)
  double loss = 0;            // summed over the applied steps
  std::vector<double> terms;  // per loss term, in the model's order
};

// A checkpoint training continues from.
struct ResumePoint {
  std::string path;
  CheckpointState state;
};

class TrainingStage {
 public:
  TrainingStage(const TrainingStageOptions& options, Split train,
                const data::ProposalSet* proposals, MetricsSink& metrics,
                LossHistorySink& history, const RunEnv& env)
      : o_(options),
        env_(env),
        log_(*env.log),
        train_(std::move(train)),
        stage_(options.stage),
        name_(StageName(options.stage)),
        rpn_(options.stage == Stage::kRpn),
        proposals_(proposals),
        metrics_(metrics),
        history_(history),
        final_path_(options.dir + "/final.pt"),
        rank_(env.rank()),
        world_(env.world_size()),
        scaler_(options.optimizer.initial_loss_scale(),
                options.optimizer.loss_scale_growth_interval()),
        sampler_(options.sampler) {}

  absl::StatusOr<StageSummary> Run();

 private:
  absl::Status BuildModel();
  absl::Status PlanSchedule();
  // Loads final.pt into `summary_` (true: the stage is done) or resumes
  // from the newest checkpoint.
  absl::StatusOr<bool> ResumeOrSkip();
  // The newest checkpoint of the stage that loads, with its path; damaged
  // newer ones are renamed *.damaged and named in the log. None: start over.
  absl::StatusOr<std::optional<ResumePoint>> LoadNewestIntact();
  void InitCheckpointInfo();
  absl::Status Loop();
  absl::Status Step(const data::ChipBatch& batch);
  // Counts a step's outcome: a diverged one (too many in a row: Aborted),
  // an FP16 overflow, or the losses of an applied one into the window.
  absl::Status Account(const StepOutcome& outcome);
  absl::Status LogWindow(double lr);
  absl::Status Save(bool finished);
  void Finish();
  std::string Where() const { return absl::StrCat("[", name_, "]"); }
  // Training seconds so far, runs before a resume included.
  double ElapsedSeconds() const { return seconds_before_ + Seconds(start_); }

  const TrainingStageOptions& o_;
  const RunEnv& env_;
  RunLog& log_;
  const Split train_;
  const Stage stage_;
  const std::string name_;
  const bool rpn_;
  const data::ProposalSet* proposals_;
  MetricsSink& metrics_;
  LossHistorySink& history_;
  const std::string final_path_;
  const int rank_, world_;

  models::FasterRcnn model_{nullptr};
  std::vector<std::string> loss_names_;  // the model's loss terms
  LossScaler scaler_;
  std::unique_ptr<torch::optim::SGD> sgd_;
  std::unique_ptr<GradientReducer> reducer_;
  std::optional<TrainStep> step_;
  data::ChipSampler sampler_;
  std::optional<LrSchedule> schedule_;
  int64_t chips_per_epoch_ = 0;
  double images_per_chip_ = 0;
  // Since this process started the stage (not checkpointed): network
  // input pixels and chips, for the pixels-per-image summary.
  int64_t pixels_since_start_ = 0;
  int64_t chips_since_start_ = 0;

  TrainingPosition pos_;
  TrainingCounters counters_;
  CheckpointInfo info_;
  StageSummary summary_;
  Clock::time_point start_;
  double seconds_before_ = 0;
  int64_t step_at_start_ = 0;
  int64_t nonfinite_in_a_row_ = 0;
  Window window_;
};

}  // namespace sniper::internal

#endif  // SNIPER_SNIPER_TRAINING_STAGE_IMPL_H_
