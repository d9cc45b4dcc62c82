// bazel run //sniper:eval -- [--config=FILE] [--set path=value ...]
//     [--work_dir=DIR] [--checkpoint=FILE]
//
// Multi-scale inference (inference/detector.h) over the config's validation
// split with a trained detector, the COCO table, and the results JSON
// (<work_dir>/detections_val.json, the standard [{image_id, category_id,
// bbox, score}] format) plus <work_dir>/eval_stats.json. The same code as
// the trainer's eval stage: on the default run it reproduces its numbers.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "glog/logging.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "sniper/cli.h"
#include "sniper/config.h"
#include "sniper/eval_stage.h"

ABSL_FLAG(std::string, config, "",
          "PipelineConfig text file layered over the embedded default");
ABSL_FLAG(std::string, work_dir, "",
          "the run's work directory (default: the config's)");
ABSL_FLAG(std::string, checkpoint, "",
          "detector checkpoint (default: <work_dir>/detector/final.pt)");
ABSL_FLAG(bool, quiet, false, "no progress lines");

int Main(int argc, char** argv) {
  std::vector<std::string> sets = sniper::InitCli(
      &argc, argv,
      "Evaluates a trained SNIPER detector on the config's validation split.\n"
      "  bazel run //sniper:eval                 # the default run\n"
      "  bazel run //sniper:eval -- --config=configs/coco_sniper_r50.pbtxt "
      "--checkpoint=r50.pt --set eval.merge=SOFT_NMS");
  absl::StatusOr<sniper::Pipeline> pipeline = sniper::PipelineFromLayers(
      absl::GetFlag(FLAGS_config), sets, absl::GetFlag(FLAGS_work_dir));
  if (!pipeline.ok()) return sniper::FailWith(pipeline.status());
  bool has_eval = false;
  for (sniper::Stage s : pipeline->stages)
    has_eval |= s == sniper::Stage::kEval;
  if (!has_eval) {
    return sniper::FailWith(absl::InvalidArgumentError(
        "the config has no validation split (dataset.coco.val_annotations, "
        "dataset.voc.val_split or dataset.yolo.val_images)"));
  }
  sniper::RunOptions options;
  options.progress = !absl::GetFlag(FLAGS_quiet);
  options.checkpoint = sniper::ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  absl::StatusOr<sniper::RunSummary> run =
      sniper::EvaluateRun(*pipeline, options);
  if (!run.ok()) return sniper::FailWith(run.status());
  sniper::PrintCocoSummaries(run->stages.back().coco_stats,
                             run->stages.back().mask_stats);
  std::printf("Results: %s/detections_val.json, %s/eval_stats.json\n",
              run->work_dir.c_str(), run->work_dir.c_str());
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
