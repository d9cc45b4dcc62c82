// File: sniper/loss_scaler.h
//
// Dynamic loss scaling for fp16 training (torch-free state machine): the
// loss is multiplied by scale() before backward and the gradients divided
// by it before the step. A step whose gradients overflow is skipped and
// halves the scale; growth_interval clean steps in a row double it. An
// overflow is the scaler's business, not divergence: only when the scale
// falls below min_scale does the trainer treat steps as non-finite.
#ifndef SNIPER_SNIPER_LOSS_SCALER_H_
#define SNIPER_SNIPER_LOSS_SCALER_H_

#include <algorithm>
#include <cstdint>

namespace sniper {

class LossScaler {
 public:
  LossScaler(double initial_scale, int64_t growth_interval)
      : scale_(initial_scale), growth_interval_(growth_interval) {}

  double scale() const { return scale_; }
  int64_t clean_steps() const { return clean_steps_; }
  // Checkpoints carry the state so a resumed run scales identically.
  void Restore(double scale, int64_t clean_steps) {
    scale_ = scale;
    clean_steps_ = clean_steps;
  }

  // After a step's backward: `finite` says whether every gradient was
  // finite. Returns whether to take the optimizer step.
  bool Update(bool finite) {
    if (!finite) {
      scale_ = std::max(scale_ * 0.5, kMinScale);
      clean_steps_ = 0;
      return false;
    }
    if (++clean_steps_ >= growth_interval_) {
      scale_ = std::min(scale_ * 2, kMaxScale);
      clean_steps_ = 0;
    }
    return true;
  }

  // The scale has nowhere lower to go: overflows are divergence.
  bool at_minimum() const { return scale_ <= kMinScale; }

  static constexpr double kMinScale = 1.0;
  static constexpr double kMaxScale = 16777216.0;  // 2^24

 private:
  double scale_;
  int64_t growth_interval_;
  int64_t clean_steps_ = 0;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_LOSS_SCALER_H_
