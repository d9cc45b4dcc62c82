// GradientReducer (sniper/distributed.h): DDP-style bucketed gradient
// all-reduce during backward.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sniper/distributed.h"
#include "sniper/process_groups.h"

namespace sniper {

#ifdef SNIPER_HAS_C10D

struct GradientReducer::Bucket {
  torch::Tensor flat;
  std::vector<size_t> params;
  int64_t size = 0;    // elements
  size_t pending = 0;  // gradients not yet copied in this step
  std::vector<uint8_t> got;
  c10::intrusive_ptr<c10d::Work> work;
};

GradientReducer::GradientReducer(Distributed* dist,
                                 std::vector<torch::Tensor> params,
                                 int64_t bucket_bytes)
    : dist_(dist), params_(std::move(params)) {
  slot_.resize(params_.size());
  int64_t bytes = bucket_bytes;  // start a bucket at the first parameter
  for (size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor& p = params_[k];
    if (bytes >= bucket_bytes) {
      buckets_.push_back(std::make_unique<Bucket>());
      bytes = 0;
    }
    Bucket& b = *buckets_.back();
    slot_[k] = {static_cast<int>(buckets_.size()) - 1, b.size, b.params.size()};
    b.params.push_back(k);
    b.size += p.numel();
    bytes += p.numel() * p.element_size();
  }
  for (auto& b : buckets_) {
    b->flat = torch::zeros({b->size}, params_[b->params[0]].options());
    b->got.assign(b->params.size(), 0);
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    params_[k].register_hook(
        [this, k](const torch::Tensor& grad) { OnGradient(k, grad); });
  }
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::Arm() {
  for (auto& b : buckets_) {
    b->pending = b->params.size();
    std::fill(b->got.begin(), b->got.end(), 0);
    b->work.reset();
  }
  next_launch_ = 0;
  error_.clear();
  armed_ = true;
}

void GradientReducer::OnGradient(size_t k, const torch::Tensor& grad) {
  if (!armed_) return;
  const auto [bi, offset, pos] = slot_[k];
  Bucket& b = *buckets_[bi];
  b.flat.narrow(0, offset, grad.numel()).copy_(grad.reshape(-1));
  if (!b.got[pos]) {
    b.got[pos] = 1;
    --b.pending;
  }
  LaunchReady();
}

void GradientReducer::LaunchReady() {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_]->pending == 0) {
    Bucket& b = *buckets_[next_launch_++];
    try {
      dist_->CountCollective();
      std::vector<at::Tensor> one{b.flat};
      b.work = GroupFor(dist_->state_->main, b.flat)->allreduce(one);
    } catch (const std::exception& e) {
      if (error_.empty()) error_ = e.what();
    }
  }
}

absl::Status GradientReducer::Finish() {
  armed_ = false;
  // Parameters without a gradient this step contribute zeros.
  for (auto& b : buckets_) {
    if (b->pending == 0) continue;
    for (size_t i = 0; i < b->params.size(); ++i) {
      if (b->got[i]) continue;
      const size_t k = b->params[i];
      b->flat.narrow(0, slot_[k].offset, params_[k].numel()).zero_();
      b->got[i] = 1;
    }
    b->pending = 0;
  }
  LaunchReady();
  try {
    if (!error_.empty()) throw std::runtime_error(error_);
    for (auto& b : buckets_) {
      b->work->wait();
      b->flat.div_(dist_->world_size());
      for (size_t k : b->params) {
        torch::Tensor& g = params_[k].mutable_grad();
        const torch::Tensor mean =
            b->flat.narrow(0, slot_[k].offset, params_[k].numel())
                .view_as(params_[k]);
        if (g.defined()) {
          g.copy_(mean);
        } else {
          g = mean.clone();
        }
      }
    }
  } catch (const std::exception& e) {
    return dist_->Failure("gradient all-reduce", e);
  }
  return absl::OkStatus();
}

std::unique_ptr<GradientReducer> Distributed::MakeReducer(
    std::vector<torch::Tensor> params, int64_t bucket_bytes) {
  return std::unique_ptr<GradientReducer>(
      new GradientReducer(this, std::move(params), bucket_bytes));
}

#else  // neither Gloo nor NCCL: one process only

struct GradientReducer::Bucket {};
GradientReducer::~GradientReducer() = default;
void GradientReducer::Arm() {}
absl::Status GradientReducer::Finish() {
  return absl::UnimplementedError("no Gloo or NCCL");
}
std::unique_ptr<GradientReducer> Distributed::MakeReducer(
    std::vector<torch::Tensor>, int64_t) {
  return nullptr;
}

#endif

}  // namespace sniper
