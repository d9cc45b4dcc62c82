#include "sniper/training_stage.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_loader.h"
#include "data/chip_sampler.h"
#include "models/backbone.h"
#include "models/faster_rcnn.h"
#include "port/status_macros.h"
#include "sniper/batch.h"
#include "sniper/checkpoint.h"
#include "sniper/distributed.h"
#include "sniper/loss_scaler.h"
#include "sniper/optimizer.h"
#include "sniper/stop_signals.h"
#include "sniper/train_step.h"
#include "sniper/training_stage_impl.h"

namespace sniper {
namespace internal {

namespace fs = std::filesystem;

absl::Status TrainingStage::BuildModel() {
  const models::FasterRcnnOptions& mo = o_.model;
  torch::manual_seed(StepSeed(o_.seed, stage_, -1) >> 1);
  model_ = models::FasterRcnn(mo);
  loss_names_ = mo.LossNames();
  if (!o_.init_backbone.empty()) {
    int64_t ignored = 0;
    RETURN_IF_ERROR(models::LoadTorchvisionStateDict(
        o_.init_backbone, *model_->backbone(), &ignored));
  }
  model_->to(env_.device);
  if (env_.dist != nullptr) {
    // Every rank starts from rank 0's weights.
    std::vector<torch::Tensor> state;
    for (const torch::Tensor& t : model_->parameters()) {
      state.push_back(t.data());
    }
    for (const torch::Tensor& t : model_->buffers()) state.push_back(t);
    RETURN_IF_ERROR(env_.dist->Broadcast(state));
  }
  sgd_ = MakeSgd(o_.optimizer, *model_);
  if (env_.dist != nullptr && o_.sync_bn) {
    RETURN_IF_ERROR(env_.dist->EnableSyncBatchNorm());
    Distributed* d = env_.dist;
    model_->backbone()->SetBatchNormSync(
        [d](torch::Tensor& t) { d->SyncBatchNormSum(t); });
  }
  if (env_.dist != nullptr) {
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor& t : model_->parameters()) {
      if (t.requires_grad()) trainable.push_back(t);
    }
    reducer_ = env_.dist->MakeReducer(std::move(trainable), o_.bucket_bytes);
  }
  step_.emplace(model_, *sgd_,
                TrainStepOptions{env_.device, env_.autocast,
                                 o_.optimizer.clip_grad_norm()},
                o_.fp16 ? &scaler_ : nullptr, env_.dist, reducer_.get());
  return absl::OkStatus();
}

absl::Status TrainingStage::PlanSchedule() {
  const int64_t batch_size = o_.loader.batch_size;
  chips_per_epoch_ = static_cast<int64_t>(
      sampler_.Epoch(*train_.dataset, proposals_, 0).size());
  if (chips_per_epoch_ == 0) {
    return absl::FailedPreconditionError(
        "the chip sampler produced no chips for the training set (no valid "
        "boxes at any scale?)");
  }
  // Steps per epoch: global batches of world x batch_size chips (the last,
  // partial one dropped when there are several ranks: data/chip_loader.h).
  const int64_t batches =
      world_ > 1 ? chips_per_epoch_ / (batch_size * world_)
                 : (chips_per_epoch_ + batch_size - 1) / batch_size;
  if (batches == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        chips_per_epoch_, " chips per epoch cannot fill one step of ", world_,
        " x ", batch_size, " chips"));
  }
  ASSIGN_OR_RETURN(schedule_,
                   LrSchedule::Build(o_.optimizer, o_.schedule, batches));
  images_per_chip_ =
      static_cast<double>(train_.dataset->num_images()) / chips_per_epoch_;
  return absl::OkStatus();
}

absl::Status TrainingStage::Step(const data::ChipBatch& batch) {
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
  ChipBatchToTensors(batch, o_.loader.render, &images, &targets,
                     model_->options().has_mask() ? train_.dataset : nullptr);
  // Every rank's batch has this shape with shape-grouped batches; with
  // mixed batches this is an estimate from rank 0's.
  const int64_t pixels = images.size(0) * images.size(2) * images.size(3) *
                         static_cast<int64_t>(world_);
  window_.pixels += pixels;
  pixels_since_start_ += pixels;
  chips_since_start_ += static_cast<int64_t>(batch.size) * world_;
  BatchToDevice(env_.device, &images, &targets);
  const double lr = schedule_->At(pos_.step);
  SetLearningRate(*sgd_, lr);
  // A diverged step (non-finite loss or gradient, or an op refusing
  // non-finite input) is skipped and counted; with several processes every
  // rank skips when any rank must.
  ASSIGN_OR_RETURN(
      const StepOutcome outcome,
      step_->Run(images, targets, StepSeed(o_.seed, stage_, pos_.step),
                 static_cast<int64_t>(rank_) * o_.loader.batch_size,
                 absl::StrCat(Where(), " step ", pos_.step + 1)));
  RETURN_IF_ERROR(Account(outcome));
  ++pos_.step;
  counters_.chips += static_cast<int64_t>(batch.size) * world_;
  window_.chips += static_cast<int64_t>(batch.size) * world_;
  const bool last = pos_.step == schedule_->total_steps();
  if (pos_.step % o_.log_every_steps == 0 || last) {
    RETURN_IF_ERROR(LogWindow(lr));
  }
  return absl::OkStatus();
}

absl::Status TrainingStage::Account(const StepOutcome& outcome) {
  switch (outcome.result) {
    case StepResult::kNonFinite:
      ++counters_.nonfinite;
      ++nonfinite_in_a_row_;
      log_.Line(absl::StrCat(Where(), " step ", pos_.step + 1, ": non-finite ",
                             outcome.why, "; step skipped (",
                             nonfinite_in_a_row_, " in a row)"));
      if (nonfinite_in_a_row_ >= o_.optimizer.max_nonfinite_steps_in_a_row()) {
        return absl::AbortedError(absl::StrCat(
            Where(), " ", nonfinite_in_a_row_,
            " non-finite steps in a row at step ", pos_.step + 1,
            " (optimizer.max_nonfinite_steps_in_a_row = ",
            o_.optimizer.max_nonfinite_steps_in_a_row(),
            "): lower optimizer.base_lr, raise schedule.warmup_steps or set "
            "optimizer.clip_grad_norm"));
      }
      break;
    case StepResult::kFp16Overflow:
      ++counters_.fp16_overflows;
      break;
    case StepResult::kApplied:
      nonfinite_in_a_row_ = 0;
      window_.loss += outcome.loss;
      window_.terms.resize(outcome.terms.size());
      for (size_t k = 0; k < outcome.terms.size(); ++k) {
        window_.terms[k] += outcome.terms[k];
      }
      ++window_.applied;
      break;
  }
  return absl::OkStatus();
}

absl::Status TrainingStage::LogWindow(double lr) {
  const int64_t total = schedule_->total_steps();
  const double chips_per_s =
      window_.chips / std::max(Seconds(window_.start), 1e-9);
  auto mean = [&](double sum) {
    return window_.applied > 0 ? sum / window_.applied : NAN;
  };
  std::vector<double> terms;
  for (double sum : window_.terms) terms.push_back(mean(sum));
  Metrics m;
  m.Set(kTotalSteps, static_cast<double>(total))
      .Set(kEpoch, static_cast<double>(pos_.epoch))
      .SetLosses(mean(window_.loss), loss_names_, terms)
      .Set(kLearningRate, lr)
      .Set(kChipsPerSecond, chips_per_s)
      .Set(kImagesPerSecond, chips_per_s * images_per_chip_)
      .Set(kPixelsPerImage,
           window_.chips > 0
               ? window_.pixels / (window_.chips * images_per_chip_)
               : 0.0)
      .Set(kEtaSeconds, Seconds(start_) /
                            std::max<int64_t>(pos_.step - step_at_start_, 1) *
                            (total - pos_.step));
  window_ = Window();
  return metrics_.Log(name_, pos_.step, m);
}

absl::Status TrainingStage::Loop() {
  model_->train();
  data::ChipLoaderOptions loader_options = o_.loader;
  loader_options.shard_index = rank_;
  loader_options.num_shards = world_;
  data::ChipLoader loader(*train_.dataset, train_.image_dir, sampler_,
                          proposals_, loader_options);
  loader.StartEpoch(pos_.epoch, pos_.batch);
  start_ = Clock::now();
  seconds_before_ = counters_.seconds;
  step_at_start_ = pos_.step;
  window_ = Window();
  const int64_t total = schedule_->total_steps();
  while (pos_.step < total) {
    ASSIGN_OR_RETURN(std::optional<data::ChipBatch> batch, loader.Next());
    if (!batch.has_value()) {
      ++pos_.epoch;
      pos_.batch = 0;
      loader.StartEpoch(pos_.epoch, 0);
      continue;
    }
    pos_.batch = batch->index + 1;
    counters_.skipped_chips += batch->skipped;
    for (const std::string& e : batch->errors) {
      log_.Line(absl::StrCat(Where(), " skipped chip: ", e));
    }
    if (batch->size == 0) continue;
    RETURN_IF_ERROR(Step(*batch));
    const bool last = pos_.step == total;
    // Preemption: every rank stops after the same step (the last step's
    // stop is taken between stages, after final.pt).
    ASSIGN_OR_RETURN(const int stop, AgreeOnStop(env_));
    const bool interrupt =
        (o_.interrupt_after_step > 0 && pos_.step == o_.interrupt_after_step) ||
        stop != 0;
    if (!last && (pos_.step % o_.checkpoint_every_steps == 0 || interrupt)) {
      RETURN_IF_ERROR(Save(false));
    }
    if (interrupt && !last) {
      summary_.interrupted = true;
      summary_.stop_signal = stop;
      log_.Line(
          stop != 0
              ? absl::StrCat(Where(), " stopped by ", StopSignalName(stop),
                             " after step ", pos_.step, " (checkpoint written)")
              : absl::StrCat(Where(), " interrupted after step ", pos_.step));
      break;
    }
  }
  if (!summary_.interrupted) RETURN_IF_ERROR(Save(true));
  // The others go on once rank 0's checkpoint is on disk.
  if (env_.dist != nullptr) RETURN_IF_ERROR(env_.dist->Barrier());
  return absl::OkStatus();
}

void TrainingStage::Finish() {
  counters_.seconds = ElapsedSeconds();
  summary_.steps = pos_.step;
  summary_.chips = counters_.chips;
  summary_.nonfinite_steps = counters_.nonfinite;
  summary_.skipped_chips = counters_.skipped_chips;
  summary_.seconds = counters_.seconds;
  summary_.images = static_cast<int64_t>(train_.dataset->num_images());
  summary_.images_without_boxes =
      static_cast<int64_t>(train_.dataset->num_images_without_boxes());
  const LossHistory& history = history_.history(name_);
  summary_.final_loss = history.empty() ? NAN : history.rows.back().total;
  const double seconds = ElapsedSeconds() - seconds_before_;
  if (chips_since_start_ > 0) {
    summary_.pixels_per_image =
        pixels_since_start_ / (chips_since_start_ * images_per_chip_);
    summary_.images_per_s =
        chips_since_start_ * images_per_chip_ / std::max(seconds, 1e-9);
  }
  if (summary_.interrupted) return;
  log_.Line(absl::StrFormat(
      "[%s] done: %d steps, %d chips in %s (%.2f chips/s), final loss "
      "%.4f, %d non-finite steps skipped, %d chips skipped (unreadable "
      "images), %.0f network pixels per image",
      name_, summary_.steps, summary_.chips, FormatDuration(summary_.seconds),
      summary_.chips / std::max(summary_.seconds, 1e-9), summary_.final_loss,
      summary_.nonfinite_steps, summary_.skipped_chips,
      summary_.pixels_per_image));
}

absl::StatusOr<StageSummary> TrainingStage::Run() {
  fs::create_directories(o_.dir);
  summary_.stage = stage_;
  RETURN_IF_ERROR(BuildModel());
  RETURN_IF_ERROR(PlanSchedule());
  ASSIGN_OR_RETURN(const bool finished, ResumeOrSkip());
  if (finished) return summary_;
  InitCheckpointInfo();
  log_.Line(absl::StrCat(
      Where(), " ", rpn_ ? "RPN-only model" : "detector", ", ",
      chips_per_epoch_, " chips per epoch (",
      proposals_ != nullptr ? "positive + negative" : "positive", "), batch ",
      o_.loader.batch_size, ", ", schedule_->total_steps(), " steps (",
      absl::StrFormat("%.3g", o_.schedule.epochs()), " epochs), ",
      torch::get_num_threads(), " threads"));
  RETURN_IF_ERROR(Loop());
  Finish();
  return summary_;
}

}  // namespace internal

absl::StatusOr<StageSummary> RunTrainingStage(
    const TrainingStageOptions& options, const Split& train,
    const data::ProposalSet* proposals, MetricsSink& metrics,
    LossHistorySink& history, const RunEnv& env) {
  internal::TrainingStage training(options, train, proposals, metrics, history,
                                   env);
  return training.Run();
}

}  // namespace sniper
