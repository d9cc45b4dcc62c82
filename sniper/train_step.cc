#include "sniper/train_step.h"

#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ops/non_finite.h"
#include "port/status_macros.h"
#include "port/torch_compat.h"
#include "sniper/distributed.h"
#include "sniper/loss_scaler.h"

namespace sniper {

TrainStep::TrainStep(models::FasterRcnn model, torch::optim::SGD& sgd,
                     TrainStepOptions options, LossScaler* fp16_scaler,
                     Distributed* dist, GradientReducer* reducer)
    : model_(std::move(model)),
      sgd_(sgd),
      options_(std::move(options)),
      scaler_(fp16_scaler),
      dist_(dist),
      reducer_(reducer) {}

bool TrainStep::WeightsFinite() {
  for (const torch::Tensor& t : model_->parameters()) {
    if (!torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

absl::StatusOr<torch::Tensor> TrainStep::Forward(
    const torch::Tensor& images,
    const std::vector<models::ChipTargets>& targets, uint64_t seed,
    int64_t chip_offset, const std::string& where, StepOutcome& out) {
  try {
    std::map<std::string, torch::Tensor> losses;
    {
      const compat::OptionalAutocast autocast(options_.device.type(),
                                              options_.autocast);
      losses = model_->Losses(images, targets, seed, chip_offset);
    }
    torch::Tensor loss = torch::zeros({});
    for (int k = 0; k < kNumLosses; ++k) {
      auto it = losses.find(kLossNames[k]);
      if (it == losses.end()) continue;
      loss = loss + it->second;
      out.losses[k + 1] = it->second.item<double>();
    }
    out.losses[0] = loss.item<double>();
    if (!std::isfinite(out.losses[0])) {
      out.why = absl::StrCat("loss ", out.losses[0]);
    }
    return loss;
  } catch (const ops::NonFiniteInputError& e) {
    // An op refused non-finite input (NMS on NaN proposals): diverged.
    out.why = absl::StrCat("values (", e.msg(), ")");
  } catch (const c10::Error& e) {
    // Any other op error is a bug, unless the weights themselves diverged.
    if (WeightsFinite()) {
      return absl::InternalError(
          absl::StrCat(where, ": ", e.what_without_backtrace()));
    }
    out.why = absl::StrCat("values (", e.msg(), ")");
  }
  return torch::Tensor();
}

absl::StatusOr<StepOutcome> TrainStep::Run(
    const torch::Tensor& images,
    const std::vector<models::ChipTargets>& targets, uint64_t seed,
    int64_t chip_offset, const std::string& where) {
  compat::ZeroGrad(sgd_);
  StepOutcome out;
  ASSIGN_OR_RETURN(torch::Tensor loss,
                   Forward(images, targets, seed, chip_offset, where, out));
  if (dist_ != nullptr) {
    // The step's losses averaged over the ranks, and whether any failed.
    constexpr int kFailed = 1 + kNumLosses;
    torch::Tensor shared = torch::zeros({kFailed + 1}, torch::kFloat64);
    if (out.why.empty()) {
      for (int k = 0; k < kFailed; ++k) shared[k] = out.losses[k];
    } else {
      shared[kFailed] = 1;
    }
    RETURN_IF_ERROR(dist_->SumInPlace(shared));
    for (int k = 0; k < kFailed; ++k) {
      out.losses[k] = shared[k].item<double>() / dist_->world_size();
    }
    if (out.why.empty() && shared[kFailed].item<double>() > 0) {
      out.why = "values on another rank";
    }
  }
  if (!out.why.empty()) {
    out.result = StepResult::kNonFinite;
    return out;
  }
  if (reducer_ != nullptr) reducer_->Arm();
  (scaler_ != nullptr ? loss * scaler_->scale() : loss).backward();
  // Gradients averaged over the ranks (all-reduced while backward ran).
  if (reducer_ != nullptr) RETURN_IF_ERROR(reducer_->Finish());
  if (scaler_ != nullptr) {
    for (const torch::Tensor& t : model_->parameters()) {
      if (t.grad().defined()) t.mutable_grad().div_(scaler_->scale());
    }
  }
  const double grad_norm = torch::nn::utils::clip_grad_norm_(
      model_->parameters(), options_.clip_grad_norm > 0
                                ? options_.clip_grad_norm
                                : std::numeric_limits<double>::infinity());
  if (scaler_ != nullptr && !scaler_->Update(std::isfinite(grad_norm)) &&
      !scaler_->at_minimum()) {
    out.result = StepResult::kFp16Overflow;  // the scaler's business
  } else if (!std::isfinite(grad_norm)) {
    out.result = StepResult::kNonFinite;
    out.why = absl::StrCat("gradient norm ", grad_norm);
  } else {
    sgd_.step();
    out.result = StepResult::kApplied;
  }
  return out;
}

}  // namespace sniper
