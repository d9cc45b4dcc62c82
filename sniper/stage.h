// File: sniper/stage.h
//
// What the stages of a run share (sniper/trainer.h runs them in order;
// sniper/training_stage.h, proposals_stage.h and eval_stage.h are they):
// the run options and summaries, the datasets, and RunEnv, the thin
// environment every stage takes beside its own options
// (sniper/stage_options.h) and inputs. RunSession opens it.
//
//   RunSession session(device);              // the device, current
//   RETURN_IF_ERROR(session.Start(p, {"eval"}));  // log, threads, header
//   ASSIGN_OR_RETURN(Datasets data, LoadDatasets(p.dataset, session.log()));
//   ASSIGN_OR_RETURN(StageSummary s,
//                    RunEvalStage(p.eval_stage, EvalData(data),
//                                 session.env()));
#ifndef SNIPER_SNIPER_STAGE_H_
#define SNIPER_SNIPER_STAGE_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/coco_dataset.h"
#include "models/faster_rcnn.h"
#include "sniper/config.h"
#include "sniper/loss_curve.h"
#include "sniper/run_log.h"

namespace sniper {

class Distributed;
class EventWriter;

struct RunOptions {
  // Run only this stage (its inputs must exist: e.g. the detector stage
  // with source RPN needs the proposals file).
  std::optional<Stage> only_stage;
  // Continue from the latest checkpoint of each stage; finished stages are
  // skipped. Without it, a work directory that holds checkpoints is an
  // error (pass --overwrite to start over).
  bool resume = false;
  bool overwrite = false;
  // Tests: stop the current training stage after this global step (as if
  // interrupted), after writing a checkpoint there. 0: never.
  int64_t interrupt_after_step = 0;
  // Print progress lines to stderr (the log file gets them regardless).
  bool progress = true;
  // The eval stage evaluates this checkpoint instead of
  // <work_dir>/detector/final.pt (//sniper:eval --checkpoint).
  std::string checkpoint;
};

// What a run did, for the summary and tests.
struct StageSummary {
  Stage stage = Stage::kDetector;
  bool skipped = false;  // already finished (resume)
  bool interrupted = false;
  // The stop signal (SIGTERM, ...) that interrupted it after a checkpoint
  // (AgreeOnStop); 0: none.
  int stop_signal = 0;
  int64_t steps = 0;  // training stages: the stage's step count reached
  int64_t chips = 0;
  double seconds = 0;
  int64_t nonfinite_steps = 0;
  int64_t skipped_chips = 0;  // loader kSkip
  double final_loss = 0;
  // proposals: images and proposals written; eval: the 12 COCO numbers.
  // Training stages: the training split's images, and those without a box
  // (no positive chips; only negative chips come from them).
  int64_t images = 0;
  int64_t images_without_boxes = 0;
  int64_t proposals = 0;
  std::vector<double> coco_stats;
  double voc_ap50 = -1;  // eval: Pascal VOC's AP at IoU 0.5
  // eval with the mask branch: the 12 COCO segm numbers.
  std::vector<double> mask_stats;
  // Training stages: network input pixels per image (padding included) and
  // images/s over this process's part of the stage (a resumed stage: the
  // steps after the resume).
  double pixels_per_image = 0;
  double images_per_s = 0;
  // This process's peak resident memory during the stage, bytes (VmHWM
  // reset at the stage's start; -1 where unreadable).
  int64_t peak_rss_bytes = -1;
};

// Each finished stage of a run leaves <work_dir>/summary/<stage>.json: what
// it did and cost (seconds, peak memory; training stages: steps, chips,
// chips/s, images/s, network pixels per image; proposals and eval: images,
// images/s; eval: the COCO numbers), so that tools that compare runs
// (//tools:experiment) read numbers, not log lines. The file of a stage a
// resumed run skips stays as its run left it.
std::string StageSummaryPath(const std::string& work_dir, Stage stage);
std::string StageSummaryJson(const StageSummary& summary);
// Writes it atomically (creating <work_dir>/summary).
absl::Status WriteStageSummary(const std::string& work_dir,
                               const StageSummary& summary);

struct RunSummary {
  std::vector<StageSummary> stages;
  std::string work_dir;
  // Non-zero: the run stopped on a signal (StageSummary::stop_signal),
  // after a checkpoint; --resume continues it.
  int stop_signal = 0;
  // The training stages' loss histories (sniper/loss_curve.h draws them).
  std::vector<StageLosses> losses;
};

// One split as a stage reads it.
struct Split {
  const data::CocoDataset* dataset = nullptr;
  std::string image_dir;    // the images' file names are relative to it
  std::string annotations;  // the JSON file it was read from; "": VOC, YOLO
};

// The training and validation splits (the synthetic dataset is generated
// on first use), cut to dataset.max_*_images.
struct Datasets {
  data::CocoDataset train, val;
  std::string train_images, val_images;
  std::string train_json, val_json;
  bool has_val = false;

  Split train_split() const { return {&train, train_images, train_json}; }
  Split val_split() const { return {&val, val_images, val_json}; }
};

// Reads both splits (validated against the model's class count and, with
// keep_segmentations, for segmentations); logs their sizes.
absl::StatusOr<Datasets> LoadDatasets(const DatasetOptions& d, RunLog& log);

// Where and how a stage runs: the device and autocast type, the run's log,
// TensorBoard (rank 0; may be null) and the process group (null: one
// process).
struct RunEnv {
  torch::Device device{torch::kCPU};
  std::optional<c10::ScalarType> autocast;  // precision BF16/FP16
  RunLog* log = nullptr;                    // never null in a stage
  EventWriter* events = nullptr;
  Distributed* dist = nullptr;

  int rank() const;
  int world_size() const;
};

// Whether to stop here: this process's stop request (sniper/stop_signals.h)
// or any other rank's, the same answer on every rank (summed over the
// process group; one small collective): this process's signal, else the
// others' (-1 when they got different ones), or 0.
absl::StatusOr<int> AgreeOnStop(const RunEnv& env);

// What opening a run's environment needs besides the pipeline.
struct SessionOptions {
  std::string what = "run";  // the header's "SNIPER <what> ..."
  // The log file; empty: no file (ranks other than 0).
  std::string log_path;
  bool progress = true;          // progress lines to stderr
  bool echo = true;              // lines to stderr
  int processes_on_machine = 1;  // they share its cores
  std::string header_extra;      // appended inside the header's ()
  bool events = false;           // a TensorBoard writer in the work dir
};

// The environment of one run, owned: the device made current for the
// run's lifetime (CUDA), then, by Start, compute threads, the autocast
// type, the log with its header line, and TensorBoard.
class RunSession {
 public:
  explicit RunSession(torch::Device device);
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  absl::Status Start(const Pipeline& p, const SessionOptions& options);

  // After Start. `env().dist` is set_dist's.
  const RunEnv& env() const { return env_; }
  RunLog& log() { return *log_; }
  void set_dist(Distributed* dist) { env_.dist = dist; }

 private:
  std::optional<c10::DeviceGuard> guard_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<EventWriter> events_;
  RunEnv env_;
};

// The model of a finished stage's checkpoint at `path`, in eval mode on
// `device`; a missing file is FailedPrecondition naming the stage.
absl::StatusOr<models::FasterRcnn> LoadStageModel(
    const std::string& path, Stage stage,
    const models::FasterRcnnOptions& options, torch::Device device);

// Creates the run's work directory (and its parents).
absl::Status CreateWorkDir(const std::string& dir);

}  // namespace sniper

#endif  // SNIPER_SNIPER_STAGE_H_
