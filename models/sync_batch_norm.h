// File: models/sync_batch_norm.h
//
// Synchronized batch norm for data-parallel training: in training mode the
// mean and variance are those of the whole global batch (every process's
// chips), not of one process's chips, and the backward pass all-reduces
// the two per-channel sums it needs. The BatchNorm2d modules, parameter
// and buffer names stay torchvision's; only their forward changes while a
// synchronizer is installed (the trainer installs one with
// distributed.sync_bn). Without one, or in eval mode, it is BatchNorm2d's
// own forward.
#ifndef SNIPER_MODELS_SYNC_BATCH_NORM_H_
#define SNIPER_MODELS_SYNC_BATCH_NORM_H_

#include <torch/torch.h>

#include <functional>

namespace sniper::models {

// Sums a small float64 CPU tensor over the processes, in place; throws
// c10::Error on failure.
using AllReduceSum = std::function<void(torch::Tensor&)>;

// Installs (or, with an empty function, removes) the process-wide
// synchronizer used by BatchNorm().
void SetBatchNormSync(AllReduceSum all_reduce);

// `bn` applied to `x`: synchronized over the processes when a synchronizer
// is installed and `bn` is training; bn->forward(x) otherwise.
torch::Tensor BatchNorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_SYNC_BATCH_NORM_H_
