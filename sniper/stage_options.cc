// BuildStageOptions (sniper/config.h): each stage's options from the
// validated pipeline.
#include "sniper/stage_options.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "sniper/config.h"

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

}  // namespace

void BuildStageOptions(Pipeline& p) {
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
  r.sampler = p.sampler;
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
