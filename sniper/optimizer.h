// File: sniper/optimizer.h
//
// The optimizer and learning-rate schedule of a training stage, from
// PipelineConfig's OptimizerConfig and ScheduleConfig:
//
//   ASSIGN_OR_RETURN(LrSchedule schedule,
//                    LrSchedule::Build(optimizer_config, schedule_config,
//                                      steps_per_epoch));
//   std::unique_ptr<torch::optim::SGD> sgd = MakeSgd(optimizer_config, *model);
//   for (int64_t step = 0; step < schedule.total_steps(); ++step) {
//     SetLearningRate(*sgd, schedule.At(step));
//     ...
//   }
//
// SGD with momentum and weight decay; with no_decay_on_bn_and_bias,
// batch-norm weights and every bias go into a second group without weight
// decay. Frozen parameters (requires_grad false) are left out.
//
// The rate at step s: base_lr times decay_factor for every decay step <= s
// (a decay epoch e is step round(e * steps_per_epoch)); during warm-up
// (s < warmup_steps) the line from warmup_start_lr at step 0 to that rate
// at step warmup_steps. total_steps: ceil(epochs * steps_per_epoch), capped
// by max_steps when > 0.
#ifndef SNIPER_SNIPER_OPTIMIZER_H_
#define SNIPER_SNIPER_OPTIMIZER_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

class LrSchedule {
 public:
  // steps_per_epoch must be positive.
  static absl::StatusOr<LrSchedule> Build(const OptimizerConfig& optimizer,
                                          const ScheduleConfig& schedule,
                                          int64_t steps_per_epoch);

  double At(int64_t step) const;
  int64_t total_steps() const { return total_steps_; }
  const std::vector<int64_t>& decay_steps() const { return decay_steps_; }

 private:
  double base_lr_ = 0, warmup_start_lr_ = 0, decay_factor_ = 1;
  int64_t warmup_steps_ = 0, total_steps_ = 0;
  std::vector<int64_t> decay_steps_;
};

std::unique_ptr<torch::optim::SGD> MakeSgd(const OptimizerConfig& optimizer,
                                           torch::nn::Module& model);

// Every parameter group's learning rate.
void SetLearningRate(torch::optim::SGD& sgd, double lr);

}  // namespace sniper

#endif  // SNIPER_SNIPER_OPTIMIZER_H_
