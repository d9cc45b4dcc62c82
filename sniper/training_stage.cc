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
#include "google/protobuf/text_format.h"
#include "models/faster_rcnn.h"
#include "models/resnet.h"
#include "port/status_macros.h"
#include "sniper/batch.h"
#include "sniper/checkpoint.h"
#include "sniper/distributed.h"
#include "sniper/loss_scaler.h"
#include "sniper/optimizer.h"
#include "sniper/train_step.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;

// Every random choice of a step derives from the seed, the stage and the
// step (step -1: the model's initialization).
uint64_t StepSeed(uint64_t seed, Stage stage, int64_t step) {
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
  TrainingStage(StageContext& ctx, Stage stage,
                const data::ProposalSet* proposals, MetricsSink& metrics,
                LossHistorySink& history)
      : ctx_(ctx),
        c_(ctx.p.config),
        oc_(c_.optimizer()),
        sc_(stage == Stage::kRpn ? c_.negatives().rpn_schedule()
                                 : c_.schedule()),
        stage_(stage),
        name_(StageName(stage)),
        rpn_(stage == Stage::kRpn),
        proposals_(proposals),
        metrics_(metrics),
        history_(history),
        dir_(StageDir(ctx.p, stage)),
        final_path_(dir_ + "/final.pt"),
        rank_(ctx.dist != nullptr ? ctx.dist->rank() : 0),
        world_(ctx.dist != nullptr ? ctx.dist->world_size() : 1),
        scaler_(oc_.initial_loss_scale(), oc_.loss_scale_growth_interval()),
        sampler_(ctx.p.sampler) {}

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
  absl::Status LogWindow(double lr);
  absl::Status Save(bool finished);
  void Finish();
  std::string Where() const { return absl::StrCat("[", name_, "]"); }
  // Training seconds so far, runs before a resume included.
  double ElapsedSeconds() const { return seconds_before_ + Seconds(start_); }

  StageContext& ctx_;
  const PipelineConfig& c_;
  const OptimizerConfig& oc_;
  const ScheduleConfig& sc_;  // the stage's schedule
  const Stage stage_;
  const std::string name_;
  const bool rpn_;
  const data::ProposalSet* proposals_;
  MetricsSink& metrics_;
  LossHistorySink& history_;
  const std::string dir_, final_path_;
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

absl::Status TrainingStage::BuildModel() {
  const models::FasterRcnnOptions& mo = rpn_ ? ctx_.p.rpn_model : ctx_.p.model;
  torch::manual_seed(StepSeed(c_.seed(), stage_, -1) >> 1);
  model_ = models::FasterRcnn(mo);
  loss_names_ = mo.LossNames();
  if (!c_.init_backbone().empty()) {
    int64_t ignored = 0;
    RETURN_IF_ERROR(models::LoadTorchvisionStateDict(
        c_.init_backbone(), *model_->backbone(), &ignored));
  }
  model_->to(ctx_.device);
  if (ctx_.dist != nullptr) {
    // Every rank starts from rank 0's weights.
    std::vector<torch::Tensor> state;
    for (const torch::Tensor& t : model_->parameters()) {
      state.push_back(t.data());
    }
    for (const torch::Tensor& t : model_->buffers()) state.push_back(t);
    RETURN_IF_ERROR(ctx_.dist->Broadcast(state));
  }
  sgd_ = MakeSgd(oc_, *model_);
  if (ctx_.dist != nullptr && c_.distributed().sync_bn()) {
    RETURN_IF_ERROR(ctx_.dist->EnableSyncBatchNorm());
    Distributed* d = ctx_.dist;
    model_->backbone()->SetBatchNormSync(
        [d](torch::Tensor& t) { d->SyncBatchNormSum(t); });
  }
  if (ctx_.dist != nullptr) {
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor& t : model_->parameters()) {
      if (t.requires_grad()) trainable.push_back(t);
    }
    reducer_ = ctx_.dist->MakeReducer(
        std::move(trainable),
        static_cast<int64_t>(c_.distributed().bucket_mb() * 1048576.0));
  }
  const bool fp16 = c_.precision() == PipelineConfig::FP16;
  step_.emplace(
      model_, *sgd_,
      TrainStepOptions{ctx_.device, ctx_.autocast, oc_.clip_grad_norm()},
      fp16 ? &scaler_ : nullptr, ctx_.dist, reducer_.get());
  return absl::OkStatus();
}

absl::Status TrainingStage::PlanSchedule() {
  const int64_t batch_size = ctx_.p.loader.batch_size;
  chips_per_epoch_ = static_cast<int64_t>(
      sampler_.Epoch(ctx_.data.train, proposals_, 0).size());
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
  ASSIGN_OR_RETURN(schedule_, LrSchedule::Build(oc_, sc_, batches));
  images_per_chip_ =
      static_cast<double>(ctx_.data.train.num_images()) / chips_per_epoch_;
  return absl::OkStatus();
}

absl::StatusOr<bool> TrainingStage::ResumeOrSkip() {
  history_.Reset(name_, {});
  if (fs::exists(final_path_)) {
    ASSIGN_OR_RETURN(CheckpointState l,
                     LoadCheckpoint(final_path_, model_, nullptr, ctx_.device));
    history_.Reset(name_, l.history);
    summary_.skipped = true;
    summary_.steps = l.position.step;
    summary_.chips = l.counters.chips;
    summary_.nonfinite_steps = l.counters.nonfinite;
    summary_.skipped_chips = l.counters.skipped_chips;
    summary_.seconds = l.counters.seconds;
    ctx_.log.Line(absl::StrCat(Where(), " already finished (", final_path_,
                               "), ", l.position.step, " steps"));
    return true;
  }
  ASSIGN_OR_RETURN(std::optional<ResumePoint> r, LoadNewestIntact());
  if (!r.has_value()) return false;
  const std::string& path = r->path;
  const CheckpointState& l = r->state;
  pos_ = l.position;
  counters_ = l.counters;
  history_.Reset(name_, l.history);
  if (c_.precision() == PipelineConfig::FP16) {
    scaler_.Restore(l.counters.loss_scale, l.counters.scaler_clean_steps);
  }
  ctx_.log.Line(absl::StrCat(Where(), " resuming from ", path, " at step ",
                             pos_.step, " (epoch ", pos_.epoch, ", batch ",
                             pos_.batch, ")"));
  return false;
}

absl::StatusOr<std::optional<ResumePoint>> TrainingStage::LoadNewestIntact() {
  const auto existing = ListCheckpoints(dir_);
  for (auto it = existing.rbegin(); it != existing.rend(); ++it) {
    const std::string& path = it->second;
    absl::StatusOr<CheckpointState> l =
        LoadCheckpoint(path, model_, sgd_.get(), ctx_.device);
    if (l.ok()) return ResumePoint{path, *std::move(l)};
    // Only a damaged (or vanished) file is passed over; another model is
    // the user's to fix.
    const absl::StatusCode code = l.status().code();
    if (code != absl::StatusCode::kDataLoss &&
        code != absl::StatusCode::kNotFound) {
      return l.status();
    }
    if (std::next(it) == existing.rend()) {
      return absl::DataLossError(absl::StrCat(
          l.status().message(), "; no earlier checkpoint of ", Where(),
          " is intact (remove ", dir_, " to start the stage over)"));
    }
    const std::string aside = path + ".damaged";
    std::error_code ec;
    if (rank_ == 0) fs::rename(path, aside, ec);
    ctx_.log.Line(absl::StrCat(
        Where(), ": ", l.status().message(), "; resuming from the previous ",
        std::next(it)->second,
        rank_ == 0 && !ec
            ? absl::StrCat(" (the damaged one kept as ", aside, ")")
            : std::string()));
  }
  return std::optional<ResumePoint>();
}

void TrainingStage::InitCheckpointInfo() {
  google::protobuf::TextFormat::PrintToString(c_, &info_.config_text);
  for (const data::CocoCategory& cat : ctx_.data.train.categories()) {
    info_.category_names.push_back(cat.name);
    info_.category_ids.push_back(cat.id);
  }
}

absl::Status TrainingStage::Save(bool finished) {
  if (rank_ != 0) return absl::OkStatus();  // rank 0 writes checkpoints
  counters_.seconds = ElapsedSeconds();
  counters_.loss_scale = scaler_.scale();
  counters_.scaler_clean_steps = scaler_.clean_steps();
  const CheckpointState state{pos_, counters_, history_.history(name_),
                              finished};
  return finished
             ? SaveCheckpoint(final_path_, model_, sgd_.get(), state, info_)
             : SaveRotatingCheckpoint(dir_, c_.output().keep_checkpoints(),
                                      model_, sgd_.get(), state, info_);
}

absl::Status TrainingStage::Step(const data::ChipBatch& batch) {
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
  ChipBatchToTensors(batch, ctx_.p.loader.render, &images, &targets,
                     model_->options().has_mask() ? &ctx_.data.train : nullptr);
  // Every rank's batch has this shape with shape-grouped batches; with
  // mixed batches this is an estimate from rank 0's.
  const int64_t pixels = images.size(0) * images.size(2) * images.size(3) *
                         static_cast<int64_t>(world_);
  window_.pixels += pixels;
  pixels_since_start_ += pixels;
  chips_since_start_ += static_cast<int64_t>(batch.size) * world_;
  BatchToDevice(ctx_.device, &images, &targets);
  const double lr = schedule_->At(pos_.step);
  SetLearningRate(*sgd_, lr);
  // A diverged step (non-finite loss or gradient, or an op refusing
  // non-finite input) is skipped and counted; with several processes every
  // rank skips when any rank must.
  ASSIGN_OR_RETURN(
      const StepOutcome outcome,
      step_->Run(images, targets, StepSeed(c_.seed(), stage_, pos_.step),
                 static_cast<int64_t>(rank_) * ctx_.p.loader.batch_size,
                 absl::StrCat(Where(), " step ", pos_.step + 1)));
  switch (outcome.result) {
    case StepResult::kNonFinite:
      ++counters_.nonfinite;
      ++nonfinite_in_a_row_;
      ctx_.log.Line(absl::StrCat(
          Where(), " step ", pos_.step + 1, ": non-finite ", outcome.why,
          "; step skipped (", nonfinite_in_a_row_, " in a row)"));
      if (nonfinite_in_a_row_ >= oc_.max_nonfinite_steps_in_a_row()) {
        return absl::AbortedError(absl::StrCat(
            Where(), " ", nonfinite_in_a_row_,
            " non-finite steps in a row at step ", pos_.step + 1,
            " (optimizer.max_nonfinite_steps_in_a_row = ",
            oc_.max_nonfinite_steps_in_a_row(),
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
  ++pos_.step;
  counters_.chips += static_cast<int64_t>(batch.size) * world_;
  window_.chips += static_cast<int64_t>(batch.size) * world_;
  const bool last = pos_.step == schedule_->total_steps();
  if (pos_.step % c_.output().log_every_steps() == 0 || last) {
    RETURN_IF_ERROR(LogWindow(lr));
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
  data::ChipLoaderOptions loader_options = ctx_.p.loader;
  loader_options.shard_index = rank_;
  loader_options.num_shards = world_;
  data::ChipLoader loader(ctx_.data.train, ctx_.data.train_images, sampler_,
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
      ctx_.log.Line(absl::StrCat(Where(), " skipped chip: ", e));
    }
    if (batch->size == 0) continue;
    RETURN_IF_ERROR(Step(*batch));
    const bool last = pos_.step == total;
    const bool interrupt = ctx_.options.interrupt_after_step > 0 &&
                           pos_.step == ctx_.options.interrupt_after_step;
    if (!last &&
        (pos_.step % c_.output().checkpoint_every_steps() == 0 || interrupt)) {
      RETURN_IF_ERROR(Save(false));
    }
    if (interrupt && !last) {
      summary_.interrupted = true;
      ctx_.log.Line(
          absl::StrCat(Where(), " interrupted after step ", pos_.step));
      break;
    }
  }
  if (!summary_.interrupted) RETURN_IF_ERROR(Save(true));
  // The others go on once rank 0's checkpoint is on disk.
  if (ctx_.dist != nullptr) RETURN_IF_ERROR(ctx_.dist->Barrier());
  return absl::OkStatus();
}

void TrainingStage::Finish() {
  counters_.seconds = ElapsedSeconds();
  summary_.steps = pos_.step;
  summary_.chips = counters_.chips;
  summary_.nonfinite_steps = counters_.nonfinite;
  summary_.skipped_chips = counters_.skipped_chips;
  summary_.seconds = counters_.seconds;
  const LossHistory& history = history_.history(name_);
  summary_.final_loss = history.empty() ? NAN : history.rows.back().total;
  if (summary_.interrupted) return;
  ctx_.log.Line(absl::StrFormat(
      "[%s] done: %d steps, %d chips in %s (%.2f chips/s), final loss "
      "%.4f, %d non-finite steps skipped, %d chips skipped (unreadable "
      "images), %.0f network pixels per image",
      name_, summary_.steps, summary_.chips, FormatDuration(summary_.seconds),
      summary_.chips / std::max(summary_.seconds, 1e-9), summary_.final_loss,
      summary_.nonfinite_steps, summary_.skipped_chips,
      chips_since_start_ > 0
          ? pixels_since_start_ / (chips_since_start_ * images_per_chip_)
          : 0.0));
}

absl::StatusOr<StageSummary> TrainingStage::Run() {
  fs::create_directories(dir_);
  summary_.stage = stage_;
  RETURN_IF_ERROR(BuildModel());
  RETURN_IF_ERROR(PlanSchedule());
  ASSIGN_OR_RETURN(const bool finished, ResumeOrSkip());
  if (finished) return summary_;
  InitCheckpointInfo();
  ctx_.log.Line(absl::StrCat(
      Where(), " ", rpn_ ? "RPN-only model" : "detector", ", ",
      chips_per_epoch_, " chips per epoch (",
      proposals_ != nullptr ? "positive + negative" : "positive", "), batch ",
      ctx_.p.loader.batch_size, ", ", schedule_->total_steps(), " steps (",
      absl::StrFormat("%.3g", sc_.epochs()), " epochs), ",
      torch::get_num_threads(), " threads"));
  RETURN_IF_ERROR(Loop());
  Finish();
  return summary_;
}

}  // namespace

absl::StatusOr<StageSummary> RunTrainingStage(
    StageContext& ctx, Stage stage, const data::ProposalSet* proposals,
    MetricsSink& metrics, LossHistorySink& history) {
  TrainingStage training(ctx, stage, proposals, metrics, history);
  return training.Run();
}

}  // namespace sniper
