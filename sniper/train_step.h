// File: sniper/train_step.h
//
// One optimizer step of a training stage: gradients zeroed, the forward
// pass under autocast, the loss, backward (scaled by the FP16 loss scaler
// when there is one; gradients averaged over the processes by the reducer
// while it runs), clipping, and the update. Returns what happened:
//
//   kApplied       the update was applied
//   kNonFinite     a loss or the gradient norm was not finite, or an op
//                  refused non-finite input (ops::NonFiniteInputError), on
//                  this process or another one: no update; `why` says what
//   kFp16Overflow  the FP16 loss scaler skipped the step (it lowered its
//                  scale): no update, and not a divergence
//
// Any other error (a bug, a shape mismatch) is a Status. The learning rate
// is the caller's (SetLearningRate before Run).
//
//   TrainStep step(model, sgd, {device, autocast, clip}, scaler, dist,
//   reducer); ASSIGN_OR_RETURN(StepOutcome out, step.Run(images, targets, seed,
//   0)); if (out.result == StepResult::kNonFinite) ++skipped;
#ifndef SNIPER_SNIPER_TRAIN_STEP_H_
#define SNIPER_SNIPER_TRAIN_STEP_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/faster_rcnn.h"

namespace sniper {

class Distributed;
class GradientReducer;
class LossScaler;

enum class StepResult { kApplied, kNonFinite, kFp16Overflow };

struct StepOutcome {
  StepResult result = StepResult::kApplied;
  // The total and each of the model's loss terms (in the order of its
  // options().LossNames()), averaged over the processes. Meaningful when
  // not kNonFinite.
  double loss = 0;
  std::vector<double> terms;
  std::string why;  // kNonFinite: what was not finite
};

struct TrainStepOptions {
  torch::Device device{torch::kCPU};
  std::optional<c10::ScalarType> autocast;  // none: FP32
  double clip_grad_norm = 0;                // 0: no clipping
};

class TrainStep {
 public:
  // `fp16_scaler`, `dist` and `reducer` may be null (FP32/BF16; one
  // process). All must outlive this object.
  TrainStep(models::FasterRcnn model, torch::optim::SGD& sgd,
            TrainStepOptions options, LossScaler* fp16_scaler = nullptr,
            Distributed* dist = nullptr, GradientReducer* reducer = nullptr);

  // `seed` drives the step's target sampling; `chip_offset` is this
  // process's first chip in the global batch; `where` prefixes errors
  // (e.g. "[detector] step 12").
  absl::StatusOr<StepOutcome> Run(
      const torch::Tensor& images,
      const std::vector<models::ChipTargets>& targets, uint64_t seed,
      int64_t chip_offset, const std::string& where = "step");

 private:
  // The forward pass and the loss; why.empty() unless not finite.
  absl::StatusOr<torch::Tensor> Forward(
      const torch::Tensor& images,
      const std::vector<models::ChipTargets>& targets, uint64_t seed,
      int64_t chip_offset, const std::string& where, StepOutcome& out);
  bool WeightsFinite();

  models::FasterRcnn model_;
  const std::vector<std::string> loss_names_;  // the model's
  torch::optim::SGD& sgd_;
  TrainStepOptions options_;
  LossScaler* scaler_;
  Distributed* dist_;
  GradientReducer* reducer_;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_TRAIN_STEP_H_
