// File: sniper/stage_options.h
//
// What each stage of a run needs, built and validated once from the merged
// PipelineConfig by BuildPipeline (sniper/config.h) and held in the
// Pipeline: a stage reads its own options struct, never the config.
//
//   ASSIGN_OR_RETURN(Pipeline p, BuildPipeline(config));
//   RunTrainingStage(p.rpn_stage, train_data, nullptr, metrics, history, env);
//
// The optimizer and schedule stay messages: sniper/optimizer.h consumes
// them as validated by BuildPipeline.
#ifndef SNIPER_SNIPER_STAGE_OPTIONS_H_
#define SNIPER_SNIPER_STAGE_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "data/chip_loader.h"
#include "data/chips.h"
#include "data/synthetic.h"
#include "inference/options.h"
#include "models/faster_rcnn.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

enum class Stage { kRpn, kProposals, kDetector, kEval };
const char* StageName(Stage stage);

// The run's datasets: their files (the synthetic dataset's generated on
// first use) and how to read them.
struct DatasetOptions {
  // The synthetic dataset, in synthetic_dir (the split files below are
  // inside it).
  bool synthetic = false;
  data::SyntheticOptions synthetic_options;
  std::string synthetic_dir;
  // COCO JSON (and the synthetic dataset): the instances files. Pascal VOC
  // and YOLO: `voc` or `yolo` is set and the *_json fields are empty.
  std::string train_json, val_json;  // val_json empty: no validation split
  std::optional<data::VocDatasetConfig> voc;
  std::optional<data::YoloDatasetConfig> yolo;
  std::string train_images, val_images;  // the image directories
  bool has_val = false;
  bool skip_invalid_boxes = false;  // else an invalid box is an error
  int64_t max_train_images = 0, max_val_images = 0;  // 0: every image
  bool keep_segmentations = false;  // the mask branch learns from them
  int64_t num_classes = 0;  // the model's: the training set's categories
};

// The short-schedule RPN (kRpn) or the detector (kDetector).
struct TrainingStageOptions {
  Stage stage = Stage::kDetector;
  std::string dir;  // checkpoints: <work_dir>/<stage name>
  models::FasterRcnnOptions model;
  data::ChipSamplerOptions sampler;
  data::ChipLoaderOptions loader;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;  // the stage's: schedule or negatives.rpn_schedule
  uint64_t seed = 0;
  std::string init_backbone;  // a torchvision state dict; empty: random
  bool fp16 = false;          // precision FP16: the dynamic loss scaler
  bool sync_bn = false;       // several processes: synchronized batch norm
  int64_t bucket_bytes = 0;   // gradient all-reduce bucket size
  int checkpoint_every_steps = 500;
  int keep_checkpoints = 3;
  int log_every_steps = 20;
  // The merged config, text format: saved in every checkpoint.
  std::string config_text;
  // Tests: stop after this global step, after a checkpoint there. 0: never.
  int64_t interrupt_after_step = 0;
};

// The RPN's proposals on every training image at every training scale.
struct ProposalsStageOptions {
  std::string rpn_checkpoint;       // <work_dir>/rpn/final.pt
  models::FasterRcnnOptions model;  // the RPN with negatives' count and NMS
  // The training scales, each over the whole image (no tiling), one view
  // per forward pass.
  inference::InferenceOptions inference;
  data::ChipRenderOptions render;
  std::string proposals_file;
  bool keep_existing = false;  // resuming: an existing file is kept
};

// The detector on the validation split.
struct EvalStageOptions {
  std::string checkpoint;  // <work_dir>/detector/final.pt, or --checkpoint
  models::FasterRcnnOptions model;
  inference::InferenceOptions inference;
  data::ChipRenderOptions render;
  // detections_val.json, eval_stats.json and detections.png go here.
  std::string out_dir;
  bool draw_example = true;
  float draw_score_threshold = 0.5f;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_STAGE_OPTIONS_H_
