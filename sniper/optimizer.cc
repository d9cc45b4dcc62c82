#include "sniper/optimizer.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sniper {

absl::StatusOr<LrSchedule> LrSchedule::Build(const OptimizerConfig& optimizer,
                                             const ScheduleConfig& schedule,
                                             int64_t steps_per_epoch) {
  if (steps_per_epoch <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a schedule needs at least one step per epoch, got ", steps_per_epoch));
  }
  LrSchedule s;
  s.base_lr_ = optimizer.base_lr();
  s.warmup_start_lr_ = schedule.warmup_start_lr();
  s.warmup_steps_ = schedule.warmup_steps();
  s.decay_factor_ = schedule.decay_factor();
  s.total_steps_ =
      static_cast<int64_t>(std::ceil(schedule.epochs() * steps_per_epoch));
  if (schedule.max_steps() > 0) {
    s.total_steps_ = std::min<int64_t>(s.total_steps_, schedule.max_steps());
  }
  for (float e : schedule.decay_epochs()) {
    s.decay_steps_.push_back(
        static_cast<int64_t>(std::lround(e * steps_per_epoch)));
  }
  return s;
}

double LrSchedule::At(int64_t step) const {
  double lr = base_lr_;
  for (int64_t d : decay_steps_) {
    if (step >= d) lr *= decay_factor_;
  }
  if (step < warmup_steps_) {
    const double f = static_cast<double>(step) / warmup_steps_;
    lr = warmup_start_lr_ + (lr - warmup_start_lr_) * f;
  }
  return lr;
}

std::unique_ptr<torch::optim::SGD> MakeSgd(const OptimizerConfig& o,
                                           torch::nn::Module& model) {
  std::set<const void*> no_decay;
  if (o.no_decay_on_bn_and_bias()) {
    for (const auto& m : model.modules(/*include_self=*/false)) {
      if (m->as<torch::nn::BatchNorm2d>() != nullptr) {
        for (const auto& t : m->parameters(/*recurse=*/false)) {
          no_decay.insert(t.unsafeGetTensorImpl());
        }
      }
    }
  }
  std::vector<torch::Tensor> decay_params, plain_params;
  for (const auto& np : model.named_parameters()) {
    if (!np.value().requires_grad()) continue;
    if (no_decay.count(np.value().unsafeGetTensorImpl()) ||
        (o.no_decay_on_bn_and_bias() && absl::EndsWith(np.key(), ".bias"))) {
      plain_params.push_back(np.value());
    } else {
      decay_params.push_back(np.value());
    }
  }
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(o.base_lr())
            .momentum(o.momentum())
            .weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay_params, options(o.weight_decay()));
  if (!plain_params.empty()) groups.emplace_back(plain_params, options(0));
  return std::make_unique<torch::optim::SGD>(
      std::move(groups), torch::optim::SGDOptions(o.base_lr()));
}

void SetLearningRate(torch::optim::SGD& sgd, double lr) {
  for (auto& g : sgd.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
  }
}

}  // namespace sniper
