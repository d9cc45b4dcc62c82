// BuildStageOptions (sniper/config.h): each stage's options from the
// validated pipeline.
#include "sniper/stage_options.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "data/voc_dataset.h"
#include "google/protobuf/text_format.h"
#include "sniper/config.h"
#include "sniper/dataset_config.h"

namespace sniper {

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kRpn:
      return "rpn";
    case Stage::kProposals:
      return "proposals";
    case Stage::kDetector:
      return "detector";
    case Stage::kEval:
      return "eval";
  }
  return "?";
}

namespace {

TrainingStageOptions TrainingOptions(const Pipeline& p, Stage stage,
                                     const std::string& config_text) {
  const PipelineConfig& c = p.config;
  TrainingStageOptions o;
  o.stage = stage;
  o.dir = absl::StrCat(p.work_dir, "/", StageName(stage));
  o.model = stage == Stage::kRpn ? p.rpn_model : p.model;
  o.sampler = p.sampler;
  o.loader = p.loader;
  o.optimizer = c.optimizer();
  o.schedule =
      stage == Stage::kRpn ? c.negatives().rpn_schedule() : c.schedule();
  o.seed = c.seed();
  o.init_backbone = c.init_backbone();
  o.fp16 = c.precision() == PipelineConfig::FP16;
  o.sync_bn = c.distributed().sync_bn();
  o.bucket_bytes =
      static_cast<int64_t>(c.distributed().bucket_mb() * 1048576.0);
  o.checkpoint_every_steps = c.output().checkpoint_every_steps();
  o.keep_checkpoints = c.output().keep_checkpoints();
  o.log_every_steps = c.output().log_every_steps();
  o.config_text = config_text;
  return o;
}

DatasetOptions DatasetsOf(const Pipeline& p) {
  const DatasetConfig& d = p.config.dataset();  // paths already resolved
  DatasetOptions o;
  if (d.has_synthetic()) {
    const SyntheticDataConfig& s = d.synthetic();
    o.synthetic = true;
    o.synthetic_options.train_images = s.train_images();
    o.synthetic_options.val_images = s.val_images();
    o.synthetic_options.seed = s.seed();
    o.synthetic_options.min_side = s.min_side();
    o.synthetic_options.max_side = s.max_side();
    o.synthetic_dir = s.cache_dir();
    o.train_json = s.cache_dir() + "/instances_train.json";
    o.val_json = s.cache_dir() + "/instances_val.json";
    o.train_images = o.val_images = s.cache_dir() + "/images";
  } else if (d.has_coco()) {
    o.train_json = d.coco().train_annotations();
    o.train_images = d.coco().train_images();
    o.val_json = d.coco().val_annotations();
    o.val_images = d.coco().val_images();
  } else if (d.has_voc()) {
    o.voc = d.voc();
    o.train_images = o.val_images = data::VocImageDir(d.voc());
  } else if (d.has_yolo()) {
    o.yolo = d.yolo();
    o.train_images = d.yolo().train_images();
    o.val_images = d.yolo().val_images();
  }
  o.has_val = HasValidationSplit(d);
  o.skip_invalid_boxes = d.skip_invalid_boxes();
  o.max_train_images = d.max_train_images();
  o.max_val_images = d.max_val_images();
  o.keep_segmentations = p.model.has_mask();
  o.num_classes = p.model.num_classes;
  return o;
}

}  // namespace

void BuildStageOptions(Pipeline& p) {
  p.dataset = DatasetsOf(p);
  std::string config_text;  // saved in every checkpoint of both stages
  google::protobuf::TextFormat::PrintToString(p.config, &config_text);
  p.rpn_stage = TrainingOptions(p, Stage::kRpn, config_text);
  p.detector_stage = TrainingOptions(p, Stage::kDetector, config_text);

  ProposalsStageOptions& r = p.proposals_stage;
  r.rpn_checkpoint = p.rpn_stage.dir + "/final.pt";
  r.model = p.rpn_model;
  r.model.test_proposals.post_nms_top_n =
      p.config.negatives().proposals_per_scale();
  r.model.test_proposals.nms_threshold = p.config.negatives().proposal_nms();
  r.inference.scales = p.sampler;
  r.inference.max_tile_side = 0;
  r.inference.batch_size = 1;
  r.render = p.loader.render;
  r.proposals_file = p.proposals_file;

  EvalStageOptions& e = p.eval_stage;
  e.checkpoint = p.detector_stage.dir + "/final.pt";
  e.model = p.model;
  e.inference = p.eval;
  e.render = p.loader.render;
  e.out_dir = p.work_dir;
  e.draw_example = p.config.eval().draw_example();
  e.draw_score_threshold = p.config.eval().draw_score_threshold();
}

}  // namespace sniper
