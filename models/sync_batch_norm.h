// File: models/sync_batch_norm.h
//
// Synchronized batch norm for data-parallel training: in training mode the
// mean and variance are those of the whole global batch (every process's
// chips), not of one process's chips, and the backward pass all-reduces
// the two per-channel sums it needs. The BatchNorm2d modules, parameter
// and buffer names stay torchvision's; only their forward changes while the
// model's synchronizer is set (ResNetImpl::SetBatchNormSync; the trainer
// sets one for a training stage with distributed.sync_bn). Each model owns
// its synchronizer: nothing is process-wide. Without one, or in eval mode,
// it is BatchNorm2d's own forward.
//
// The same shared object carries one eval-mode switch: batch statistics at
// test time (SetEvalBatchStatistics), where each forward pass is normalised
// with its own per-channel mean and variance instead of the running
// averages, which stay untouched. It is a diagnostic: a model whose
// training batches each held one kind of input (SNIP's whole images,
// batched by canvas shape, hence by scale) learns per-batch statistics that
// its running averages blur together.
#ifndef SNIPER_MODELS_SYNC_BATCH_NORM_H_
#define SNIPER_MODELS_SYNC_BATCH_NORM_H_

#include <torch/torch.h>

#include <functional>
#include <utility>

#include "models/conv.h"

namespace sniper::models {

// Sums a small float64 CPU tensor over the processes, in place; throws
// c10::Error on failure.
using AllReduceSum = std::function<void(torch::Tensor&)>;

// The synchronizer a model's batch-norm layers share (one per model, held by
// every block through a shared_ptr): empty until Set.
class BatchNormSync {
 public:
  // Sets (or, with an empty function, clears) the all-reduce.
  void Set(AllReduceSum all_reduce) { all_reduce_ = std::move(all_reduce); }
  bool active() const { return static_cast<bool>(all_reduce_); }
  void AllReduce(torch::Tensor& t) const { all_reduce_(t); }

  // In eval mode, normalise with each batch's own statistics (see above).
  void SetEvalBatchStatistics(bool on) { eval_batch_statistics_ = on; }
  bool eval_batch_statistics() const { return eval_batch_statistics_; }

 private:
  AllReduceSum all_reduce_;
  bool eval_batch_statistics_ = false;
};

// `bn` applied to `x`: synchronized over the processes when `sync` is
// non-null and active and `bn` is training; in eval mode with the batch's
// own statistics when `sync` says so (running averages unchanged);
// bn.forward(x) otherwise. `sync` must outlive the backward pass.
torch::Tensor BatchNorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                        const BatchNormSync* sync);

// `bn` applied to `conv`'s output: in eval mode with the running
// statistics (not batch statistics), conv.ForwardWithBatchNorm(x, bn),
// which folds bn into the convolution on oneDNN's inference path;
// BatchNorm(bn, conv(x), sync) otherwise.
torch::Tensor ConvBatchNorm(Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                            const torch::Tensor& x, const BatchNormSync* sync);

}  // namespace sniper::models

#endif  // SNIPER_MODELS_SYNC_BATCH_NORM_H_
