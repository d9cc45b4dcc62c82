// The training stage's checkpoints: skip a finished stage, resume from the
// newest intact checkpoint, save (sniper/training_stage_impl.h).
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "port/status_macros.h"
#include "sniper/training_stage_impl.h"

namespace sniper::internal {

namespace fs = std::filesystem;

absl::StatusOr<bool> TrainingStage::ResumeOrSkip() {
  history_.Reset(name_, {});
  if (fs::exists(final_path_)) {
    ASSIGN_OR_RETURN(CheckpointState l,
                     LoadCheckpoint(final_path_, model_, nullptr, env_.device));
    history_.Reset(name_, l.history);
    summary_.skipped = true;
    summary_.steps = l.position.step;
    summary_.chips = l.counters.chips;
    summary_.nonfinite_steps = l.counters.nonfinite;
    summary_.skipped_chips = l.counters.skipped_chips;
    summary_.seconds = l.counters.seconds;
    log_.Line(absl::StrCat(Where(), " already finished (", final_path_, "), ",
                           l.position.step, " steps"));
    return true;
  }
  const absl::Time read_start = absl::Now();
  ASSIGN_OR_RETURN(std::optional<ResumePoint> r, LoadNewestIntact());
  if (!r.has_value()) return false;
  const std::string& path = r->path;
  const CheckpointState& l = r->state;
  pos_ = l.position;
  counters_ = l.counters;
  history_.Reset(name_, l.history);
  if (o_.fp16) {
    scaler_.Restore(l.counters.loss_scale, l.counters.scaler_clean_steps);
  }
  log_.Line(absl::StrCat(
      Where(), " resuming from ", path, " at step ", pos_.step, " (epoch ",
      pos_.epoch, ", batch ", pos_.batch, "; read in ",
      absl::StrFormat("%.2f", absl::ToDoubleSeconds(absl::Now() - read_start)),
      " s)"));
  return false;
}

absl::StatusOr<std::optional<ResumePoint>> TrainingStage::LoadNewestIntact() {
  const auto existing = ListCheckpoints(o_.dir);
  for (auto it = existing.rbegin(); it != existing.rend(); ++it) {
    const std::string& path = it->second;
    absl::StatusOr<CheckpointState> l =
        LoadCheckpoint(path, model_, sgd_.get(), env_.device);
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
          " is intact (remove ", o_.dir, " to start the stage over)"));
    }
    const std::string aside = path + ".damaged";
    std::error_code ec;
    if (rank_ == 0) fs::rename(path, aside, ec);
    log_.Line(absl::StrCat(
        Where(), ": ", l.status().message(), "; resuming from the previous ",
        std::next(it)->second,
        rank_ == 0 && !ec
            ? absl::StrCat(" (the damaged one kept as ", aside, ")")
            : std::string()));
  }
  return std::optional<ResumePoint>();
}

void TrainingStage::InitCheckpointInfo() {
  info_.config_text = o_.config_text;
  for (const data::CocoCategory& cat : train_.dataset->categories()) {
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
             : SaveRotatingCheckpoint(o_.dir, o_.keep_checkpoints, model_,
                                      sgd_.get(), state, info_);
}

}  // namespace sniper::internal
