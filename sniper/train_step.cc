#include "sniper/train_step.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
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
      loss_names_(model_->options().LossNames()),
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
    if (losses.size() != loss_names_.size()) {
      return absl::InternalError(absl::StrCat(where, ": the model returned ",
                                              losses.size(), " loss terms for ",
                                              loss_names_.size(), " names"));
    }
    // Summed in the model's order (the total is bitwise reproducible).
    torch::Tensor loss = torch::zeros({});
    out.terms.clear();
    for (const std::string& name : loss_names_) {
      auto it = losses.find(name);
      if (it == losses.end()) {
        return absl::InternalError(
            absl::StrCat(where, ": the model returned no loss '", name, "'"));
      }
      loss = loss + it->second;
      out.terms.push_back(it->second.item<double>());
    }
    out.loss = loss.item<double>();
    if (!std::isfinite(out.loss)) {
      out.why = absl::StrCat("loss ", out.loss);
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
    // The step's losses averaged over the ranks, and whether any failed:
    // [total, terms..., failed].
    const int64_t failed = 1 + static_cast<int64_t>(loss_names_.size());
    torch::Tensor shared = torch::zeros({failed + 1}, torch::kFloat64);
    if (out.why.empty()) {
      shared[0] = out.loss;
      for (int64_t k = 1; k < failed; ++k) shared[k] = out.terms[k - 1];
    } else {
      shared[failed] = 1;
    }
    RETURN_IF_ERROR(dist_->SumInPlace(shared));
    const double world = dist_->world_size();
    out.loss = shared[0].item<double>() / world;
    out.terms.resize(loss_names_.size());
    for (int64_t k = 1; k < failed; ++k) {
      out.terms[k - 1] = shared[k].item<double>() / world;
    }
    if (out.why.empty() && shared[failed].item<double>() > 0) {
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
