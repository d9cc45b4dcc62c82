// File: sniper/checkpoint.h
//
// The training checkpoint: one file per save (torch::serialize archive),
// written atomically (temp file, fsync, rename). It holds
//   model        the Faster R-CNN's parameters and buffers
//   optimizer    SGD's momentum buffers (absent from weights-only saves)
//   step, epoch, batch            where training continues
//   chips, nonfinite, skipped_chips, seconds, loss_scale,
//   scaler_clean_steps, fp16_overflows   counters (the last three optional)
//   finished     true for a stage's final.pt
//   config       the merged PipelineConfig, text format
//   category_names, category_ids  contiguous label k is category_ids[k]
//   torch_rng    the CPU generator's state (restored on load)
//   history      [n, 2 + terms] float64 loss history: step, total, one
//                column per loss term (LossHistory, sniper/metrics.h)
//   history_names  the loss terms' names (files without it hold 6, 7 or 8
//                columns: rpn_cls, rpn_box, rcnn_cls, rcnn_box[, focus
//                [, mask]])
//
// A stage directory holds ckpt-<step, 8 digits>.pt and final.pt;
// SaveRotatingCheckpoint keeps the newest N of the former.
//
//   CheckpointState s = ...;
//   RETURN_IF_ERROR(SaveCheckpoint(path, model, &optimizer, s, meta));
//   ASSIGN_OR_RETURN(CheckpointState r, LoadCheckpoint(path, model, &opt, d));
//   ASSIGN_OR_RETURN(CheckpointInfo info, ReadCheckpointInfo(path));
#ifndef SNIPER_SNIPER_CHECKPOINT_H_
#define SNIPER_SNIPER_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/faster_rcnn.h"
#include "sniper/metrics.h"  // LossHistory

namespace sniper {

struct TrainingPosition {
  int64_t step = 0;   // optimizer steps taken (incl. skipped non-finite)
  int64_t epoch = 0;  // epoch of the next batch
  int64_t batch = 0;  // index of the next batch in that epoch
};

struct TrainingCounters {
  int64_t chips = 0;
  int64_t nonfinite = 0;
  int64_t skipped_chips = 0;
  double seconds = 0;
  double loss_scale = 0;  // FP16: the scaler's state
  int64_t scaler_clean_steps = 0;
  int64_t fp16_overflows = 0;  // steps the loss scaler skipped
};

// What training resumes from.
struct CheckpointState {
  TrainingPosition position;
  TrainingCounters counters;
  LossHistory history;
  bool finished = false;
};

// What a checkpoint says about itself: the merged config it was trained
// with (text format), its step and the dataset's categories (contiguous
// label k is category_ids[k], named category_names[k]).
struct CheckpointInfo {
  std::string config_text;
  int64_t step = 0;
  std::vector<int64_t> category_ids;
  std::vector<std::string> category_names;
};

// "ckpt-00000042.pt".
std::string CheckpointName(int64_t step);

// The ckpt-*.pt files in `dir` as (step, path), by step; empty when `dir`
// is missing.
std::vector<std::pair<int64_t, std::string>> ListCheckpoints(
    const std::string& dir);

// Writes `path` atomically. `optimizer` may be null (weights only).
// `info.step` is ignored (the state's position is written).
absl::Status SaveCheckpoint(const std::string& path, models::FasterRcnn& model,
                            torch::optim::Optimizer* optimizer,
                            const CheckpointState& state,
                            const CheckpointInfo& info);

// Saves <dir>/ckpt-<step>.pt, then deletes all but the newest `keep`.
absl::Status SaveRotatingCheckpoint(const std::string& dir, int keep,
                                    models::FasterRcnn& model,
                                    torch::optim::Optimizer* optimizer,
                                    const CheckpointState& state,
                                    const CheckpointInfo& info);

// The loss history of a checkpoint's [n, 2 + terms] history tensor (step,
// total, one column per term) and its history_names; `names` null: a file
// written before the names were stored, whose 6, 7 or 8 columns are
// rpn_cls, rpn_box, rcnn_cls, rcnn_box[, focus[, mask]]. A shape that does
// not fit is kDataLoss.
absl::StatusOr<LossHistory> LossHistoryFromTensor(
    const torch::Tensor& tensor, const std::vector<std::string>* names);

// Loads weights into `model` and, when non-null, `optimizer`; tensors land
// on `device` (the model's). Restores the CPU generator's state. Before any
// weight is touched, the checkpoint's saved model config must have the
// model's architecture (models::ArchitectureDifferences) and every tensor
// its shape: otherwise FailedPrecondition naming the path, each differing
// field (or tensor) and both values. An unreadable file is DataLoss.
absl::StatusOr<CheckpointState> LoadCheckpoint(
    const std::string& path, models::FasterRcnn& model,
    torch::optim::Optimizer* optimizer, torch::Device device);

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

// Loads a checkpoint's weights into `model` (built with the checkpoint's
// options) on `device`.
absl::Status LoadCheckpointWeights(const std::string& path,
                                   models::FasterRcnn& model,
                                   torch::Device device);

// A checkpoint's model parameters and buffers by dotted name, on the CPU.
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadCheckpointWeights(
    const std::string& path);

}  // namespace sniper

#endif  // SNIPER_SNIPER_CHECKPOINT_H_
