#include "sniper/config.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "configs/default_synthetic_embedded.h"
#include "data/chip_loader_builder.h"
#include "data/chip_sampler_builder.h"
#include "data/synthetic.h"
#include "models/model_builder.h"
#include "port/field_path.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/dataset_config.h"

namespace sniper {
namespace {

constexpr char kRoot[] = "PipelineConfig";

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return InvalidField(kRoot, field, rule);
}

absl::Status ValidateSchedule(const ScheduleConfig& s,
                              const std::string& field) {
  if (!(std::isfinite(s.epochs()) && s.epochs() > 0)) {
    return Invalid(field + ".epochs",
                   absl::StrCat("must be > 0, got ", s.epochs()));
  }
  if (s.warmup_steps() < 0) {
    return Invalid(field + ".warmup_steps",
                   absl::StrCat("must be >= 0, got ", s.warmup_steps()));
  }
  if (!(s.warmup_start_lr() >= 0)) {
    return Invalid(field + ".warmup_start_lr",
                   absl::StrCat("must be >= 0, got ", s.warmup_start_lr()));
  }
  float previous = 0;
  for (int i = 0; i < s.decay_epochs_size(); ++i) {
    const float e = s.decay_epochs(i);
    if (!(e > previous && e <= s.epochs())) {
      return Invalid(absl::StrCat(field, ".decay_epochs[", i, "]"),
                     absl::StrCat("must increase and lie in (0, epochs = ",
                                  s.epochs(), "], got ", e));
    }
    previous = e;
  }
  if (!(s.decay_factor() > 0 && s.decay_factor() <= 1)) {
    return Invalid(field + ".decay_factor",
                   absl::StrCat("must be in (0, 1], got ", s.decay_factor()));
  }
  if (s.max_steps() < 0) {
    return Invalid(field + ".max_steps",
                   absl::StrCat("must be >= 0, got ", s.max_steps()));
  }
  return absl::OkStatus();
}

std::string DefaultCacheRoot() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    return absl::StrCat(x, "/sniper-cpp");
  }
  if (const char* h = std::getenv("HOME"); h && *h) {
    return absl::StrCat(h, "/.cache/sniper-cpp");
  }
  return "/tmp/sniper-cpp";
}

std::string Absolute(const std::string& path) {
  std::string p = ResolveUserPath(path);
  if (!p.empty() && p[0] != '/') {
    char buf[4096];
    if (getcwd(buf, sizeof(buf)) != nullptr) p = absl::StrCat(buf, "/", p);
  }
  return p;
}

// Merges the config file `path` into `merged` after the files it is
// layered over; `chain` holds the files being read (cycles).
absl::Status LayerFile(const std::string& path, std::vector<std::string>* chain,
                       PipelineConfig* merged) {
  constexpr size_t kMaxDepth = 8;
  for (const std::string& p : *chain) {
    if (p == path) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": layered_over makes a cycle (",
                       absl::StrJoin(*chain, " -> "), " -> ", path, ")"));
    }
  }
  if (chain->size() >= kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": layered_over nests deeper than ", kMaxDepth));
  }
  PipelineConfig file;
  RETURN_IF_ERROR(ReadTextProtoFile(path, &file));
  chain->push_back(path);
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  for (const std::string& base : file.layered_over()) {
    if (base.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": layered_over has an empty path"));
    }
    RETURN_IF_ERROR(
        LayerFile(base.front() == '/' ? base : absl::StrCat(dir, "/", base),
                  chain, merged));
  }
  chain->pop_back();
  file.clear_layered_over();
  MergeReplacingLists(file, merged);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PipelineConfig> LayerConfigs(
    const std::string& default_text, const std::string& default_name,
    const std::string& config_path, const std::vector<std::string>& sets) {
  PipelineConfig merged;
  RETURN_IF_ERROR(ParseTextProto(default_text, default_name, &merged));
  if (!config_path.empty()) {
    std::vector<std::string> chain;
    RETURN_IF_ERROR(LayerFile(ResolveUserPath(config_path), &chain, &merged));
  }
  // Assignments apply to the merged message, so indices address the
  // elements the earlier layers made.
  for (const std::string& s : sets) {
    RETURN_IF_ERROR(ApplyAssignment(s, &merged));
  }
  return merged;
}

namespace {

// Whole-image training (single scale, SNIP) renders each resized image into
// one chip_size x chip_size canvas: every scale with a bounded long side
// must fit (a factor scale is checked per image by the loader).
absl::Status CheckWholeImageCanvas(const data::ChipSamplerOptions& s) {
  if (s.mode != data::ChipMode::kWholeImage) return absl::OkStatus();
  for (size_t i = 0; i < s.scales.size(); ++i) {
    const data::ScaleSpec& scale = s.scales[i];
    const int32_t longest =
        scale.kind == data::ScaleSpec::Kind::kLongSide     ? scale.long_side
        : scale.kind == data::ScaleSpec::Kind::kResolution ? scale.max_long_side
                                                           : 0;
    if (longest > s.chip_size) {
      return Invalid(
          "sampler.chip_size",
          absl::StrCat("whole-image training renders each resized image into "
                       "a chip_size x chip_size canvas; scales[",
                       i, "] resizes long sides up to ", longest,
                       ", so chip_size must be at least ", longest, ", got ",
                       s.chip_size));
    }
  }
  return absl::OkStatus();
}

// The sampler, loader, detector and RPN-only model options.
absl::Status BuildComponents(const PipelineConfig& c, Pipeline& p) {
  ASSIGN_OR_RETURN(p.sampler, data::BuildChipSamplerOptions(
                                  c.sampler(), FieldPath(kRoot, "sampler")));
  ASSIGN_OR_RETURN(p.loader,
                   data::BuildChipLoaderOptions(c.loader(), p.sampler.chip_size,
                                                FieldPath(kRoot, "loader")));
  if (p.loader.render.layout != data::ChipLayout::kChwFloat32) {
    return Invalid("loader.layout", "the trainer takes CHW_FLOAT32 chips");
  }
  RETURN_IF_ERROR(CheckWholeImageCanvas(p.sampler));
  if (p.loader.group_by_shape && p.sampler.group_by_image) {
    return Invalid("loader.group_by_shape",
                   "cannot be combined with sampler.group_by_image (one "
                   "orders batches by canvas shape, the other by image)");
  }
  ASSIGN_OR_RETURN(p.model, models::BuildFasterRcnnOptions(
                                c.model(), FieldPath(kRoot, "model")));
  if (p.model.rpn_only) {
    return Invalid("model.rpn_only",
                   "the detector stage needs the full model; the RPN stage "
                   "builds its own RPN-only copy");
  }
  p.rpn_model = p.model;
  p.rpn_model.rpn_only = true;
  return absl::OkStatus();
}

absl::Status ValidateOptimizer(const OptimizerConfig& o) {
  if (!(o.base_lr() > 0 && std::isfinite(o.base_lr()))) {
    return Invalid("optimizer.base_lr",
                   absl::StrCat("must be > 0, got ", o.base_lr()));
  }
  if (!(o.momentum() >= 0 && o.momentum() < 1)) {
    return Invalid("optimizer.momentum",
                   absl::StrCat("must be in [0, 1), got ", o.momentum()));
  }
  if (!(o.weight_decay() >= 0)) {
    return Invalid("optimizer.weight_decay",
                   absl::StrCat("must be >= 0, got ", o.weight_decay()));
  }
  if (!(o.clip_grad_norm() >= 0)) {
    return Invalid(
        "optimizer.clip_grad_norm",
        absl::StrCat("must be >= 0 (0: off), got ", o.clip_grad_norm()));
  }
  if (o.max_nonfinite_steps_in_a_row() < 1) {
    return Invalid(
        "optimizer.max_nonfinite_steps_in_a_row",
        absl::StrCat("must be >= 1, got ", o.max_nonfinite_steps_in_a_row()));
  }
  if (!(o.initial_loss_scale() >= 1) || o.loss_scale_growth_interval() < 1) {
    return Invalid("optimizer",
                   "initial_loss_scale must be >= 1 and "
                   "loss_scale_growth_interval >= 1");
  }
  return absl::OkStatus();
}

// Negative chips, the stages they need, and the schedules (with the
// defaults the proto cannot carry).
absl::Status BuildStages(PipelineConfig& c, Pipeline& p) {
  if (c.schedule().decay_epochs_size() == 0 && !c.schedule().has_epochs()) {
    c.mutable_schedule()->add_decay_epochs(kDefaultDecayEpoch);
  }
  RETURN_IF_ERROR(ValidateSchedule(c.schedule(), "schedule"));
  const NegativeChipConfig& n = c.negatives();
  if (n.source() == NegativeChipConfig::SOURCE_UNSPECIFIED) {
    return Invalid("negatives.source", "must be RPN, FILE or NONE");
  }
  if (p.sampler.mode == data::ChipMode::kWholeImage &&
      n.source() != NegativeChipConfig::NONE) {
    return Invalid("negatives.source",
                   "whole-image training (sampler.mode WHOLE_IMAGE) has no "
                   "negative chips; set NONE");
  }
  if (n.source() == NegativeChipConfig::FILE && n.proposals_file().empty()) {
    return Invalid("negatives.proposals_file", "required with source FILE");
  }
  if (n.proposals_per_scale() < 1) {
    return Invalid("negatives.proposals_per_scale",
                   absl::StrCat("must be >= 1, got ", n.proposals_per_scale()));
  }
  if (!(n.proposal_nms() > 0 && n.proposal_nms() <= 1)) {
    return Invalid("negatives.proposal_nms",
                   absl::StrCat("must be in (0, 1], got ", n.proposal_nms()));
  }
  p.stages.clear();
  if (n.source() == NegativeChipConfig::RPN) {
    if (!n.has_rpn_schedule()) {
      c.mutable_negatives()->mutable_rpn_schedule()->set_epochs(
          kDefaultRpnEpochs);
    }
    RETURN_IF_ERROR(ValidateSchedule(c.negatives().rpn_schedule(),
                                     "negatives.rpn_schedule"));
    p.stages = {Stage::kRpn, Stage::kProposals};
  }
  p.stages.push_back(Stage::kDetector);
  if (HasValidationSplit(c.dataset())) p.stages.push_back(Stage::kEval);
  return absl::OkStatus();
}

// Outputs, precision, device, processes and threads.
absl::Status ValidateRunSettings(const PipelineConfig& c) {
  const OutputConfig& out = c.output();
  if (out.checkpoint_every_steps() < 1 || out.keep_checkpoints() < 1 ||
      out.log_every_steps() < 1) {
    return Invalid("output",
                   "checkpoint_every_steps, keep_checkpoints and "
                   "log_every_steps must be >= 1");
  }
  if (c.name().empty() || c.name().find('/') != std::string::npos) {
    return Invalid("name", absl::StrCat("must be a non-empty file name, got '",
                                        c.name(), "'"));
  }
  if (c.precision() == PipelineConfig::PRECISION_UNSPECIFIED) {
    return Invalid("precision", "must be FP32, BF16 or FP16");
  }
  const std::string& dev = c.device();
  int index = 0;
  if (!(dev.empty() || dev == "cpu" || dev == "cuda" ||
        (absl::StartsWith(dev, "cuda:") &&
         absl::SimpleAtoi(dev.substr(5), &index) && index >= 0))) {
    return Invalid("device",
                   absl::StrCat("must be cpu, cuda, cuda:N or empty (auto), "
                                "got '",
                                dev, "'"));
  }
  if (c.distributed().timeout_s() < 1 || !(c.distributed().bucket_mb() > 0)) {
    return Invalid("distributed", "timeout_s must be >= 1 and bucket_mb > 0");
  }
  if (c.threads() < 0) {
    return Invalid("threads", absl::StrCat("must be >= 0, got ", c.threads()));
  }
  return absl::OkStatus();
}

// Every path absolute (the work directory, the proposals file, the data,
// the backbone), the synthetic cache directory chosen.
void ResolvePaths(PipelineConfig& c, Pipeline& p) {
  const OutputConfig& out = c.output();
  p.work_dir =
      Absolute(out.work_dir().empty() ? absl::StrCat("sniper_runs/", c.name())
                                      : out.work_dir());
  c.mutable_output()->set_work_dir(p.work_dir);
  const NegativeChipConfig& n = c.negatives();
  if (n.source() == NegativeChipConfig::RPN) {
    p.proposals_file = n.proposals_file().empty()
                           ? p.work_dir + "/proposals.bin"
                           : Absolute(n.proposals_file());
  } else if (n.source() == NegativeChipConfig::FILE) {
    p.proposals_file = Absolute(n.proposals_file());
  }
  const DatasetConfig& d = c.dataset();
  if (d.has_synthetic() && d.synthetic().cache_dir().empty()) {
    const SyntheticDataConfig& s = d.synthetic();
    c.mutable_dataset()->mutable_synthetic()->set_cache_dir(absl::StrCat(
        DefaultCacheRoot(), "/synthetic-v", data::kSyntheticFormatVersion, "-",
        s.train_images(), "-", s.val_images(), "-", s.seed(), "-", s.min_side(),
        "-", s.max_side()));
  } else if (d.has_synthetic()) {
    c.mutable_dataset()->mutable_synthetic()->set_cache_dir(
        Absolute(d.synthetic().cache_dir()));
  }
  ResolveDatasetPaths(Absolute, c.mutable_dataset());
  if (!c.init_backbone().empty()) {
    c.set_init_backbone(Absolute(c.init_backbone()));
  }
}

}  // namespace

absl::StatusOr<Pipeline> BuildPipeline(const PipelineConfig& config) {
  Pipeline p;
  p.config = config;
  PipelineConfig& c = p.config;
  // Seeds: one knob.
  c.mutable_sampler()->set_seed(c.seed());
  c.mutable_loader()->set_seed(c.seed());
  RETURN_IF_ERROR(ValidateDatasetConfig(c.dataset()));
  RETURN_IF_ERROR(BuildComponents(c, p));
  RETURN_IF_ERROR(ValidateOptimizer(c.optimizer()));
  RETURN_IF_ERROR(BuildStages(c, p));
  ASSIGN_OR_RETURN(p.eval,
                   inference::BuildInferenceOptions(c.eval(), c.sampler(),
                                                    FieldPath(kRoot, "eval")));
  if (p.eval.autofocus && !p.eval.ground_truth_focus && !p.model.has_focus()) {
    return Invalid("eval.autofocus.enabled",
                   "AutoFocus reads the model's focus maps: set "
                   "model.focus.enabled (and train it)");
  }
  RETURN_IF_ERROR(ValidateRunSettings(c));
  ResolvePaths(c, p);
  BuildStageOptions(p);
  return p;
}

absl::StatusOr<Pipeline> PipelineFromLayers(const std::string& config_path,
                                            std::vector<std::string> sets,
                                            const std::string& work_dir) {
  if (!work_dir.empty()) {
    sets.push_back(absl::StrCat("output.work_dir=", work_dir));
  }
  ASSIGN_OR_RETURN(
      const PipelineConfig merged,
      LayerConfigs(embedded::kDefaultSynthetic,
                   "configs/default_synthetic.pbtxt", config_path, sets));
  return BuildPipeline(merged);
}

}  // namespace sniper
