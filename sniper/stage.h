// File: sniper/stage.h
//
// What every stage of a run shares (sniper/trainer.h runs them in order;
// sniper/eval_stage.h and sniper/proposals_stage.h are two of them): the run
// options and summaries, the run's log, the datasets, and StageContext,
// the one argument a stage takes.
//
//   RunLog log(work_dir + "/train.log", /*progress=*/true);
//   ASSIGN_OR_RETURN(Datasets data, LoadDatasets(pipeline, log));
//   StageContext ctx{pipeline, options, log, data, device, autocast};
//   ASSIGN_OR_RETURN(StageSummary s, RunEvalStage(ctx));
#ifndef SNIPER_SNIPER_STAGE_H_
#define SNIPER_SNIPER_STAGE_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/coco_dataset.h"
#include "models/faster_rcnn.h"
#include "sniper/config.h"
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
  int64_t steps = 0;  // training stages: the stage's step count reached
  int64_t chips = 0;
  double seconds = 0;
  int64_t nonfinite_steps = 0;
  int64_t skipped_chips = 0;  // loader kSkip
  double final_loss = 0;
  // proposals: images and proposals written; eval: the 12 COCO numbers.
  int64_t images = 0;
  int64_t proposals = 0;
  std::vector<double> coco_stats;
  // eval with the mask branch: the 12 COCO segm numbers.
  std::vector<double> mask_stats;
};

struct RunSummary {
  std::vector<StageSummary> stages;
  std::string work_dir;
};

// The training and validation splits (the synthetic dataset is generated
// on first use), cut to dataset.max_*_images.
struct Datasets {
  data::CocoDataset train, val;
  std::string train_images, val_images;
  std::string val_json;
  bool has_val = false;
};
absl::StatusOr<Datasets> LoadDatasets(const Pipeline& p, RunLog& log);

// Everything a stage reads. `events` (TensorBoard) and `dist` (several
// processes) may be null; `rank` is this process's (0 alone).
struct StageContext {
  const Pipeline& p;
  const RunOptions& options;
  RunLog& log;
  Datasets& data;
  torch::Device device;
  // Mixed precision (precision BF16/FP16): autocast to this type.
  std::optional<c10::ScalarType> autocast;
  EventWriter* events = nullptr;
  Distributed* dist = nullptr;
  int rank = 0;
};

// <work_dir>/<stage name>.
std::string StageDir(const Pipeline& p, Stage stage);

// The model a finished stage wrote (<stage dir>/final.pt; for the detector,
// options.checkpoint when set), in eval mode on ctx.device.
absl::StatusOr<models::FasterRcnn> LoadFinalModel(
    const StageContext& ctx, Stage stage, models::FasterRcnnOptions options);

// Creates the run's work directory (and its parents).
absl::Status CreateWorkDir(const std::string& dir);

// The log's first line: "SNIPER <what> '<name>' in <work_dir> on <device>,
// <precision> (<threads> compute threads, <n> loader threads<extra>)".
std::string RunHeader(const std::string& what, const Pipeline& p,
                      torch::Device device, int threads,
                      const std::string& extra = "");

// Intra-op threads for this process: config.threads, or the machine's
// cores shared by the processes on it, less the loader's extra threads.
// Sets them and returns the count.
int SetComputeThreads(const Pipeline& p, int processes_on_machine);

}  // namespace sniper

#endif  // SNIPER_SNIPER_STAGE_H_
