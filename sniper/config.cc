#include "sniper/config.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "data/chip_loader_builder.h"
#include "data/chip_sampler_builder.h"
#include "data/synthetic.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "models/model_builder.h"
#include "port/paths.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper {
namespace {

namespace pb = google::protobuf;

absl::Status Invalid(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("PipelineConfig.", field, ": ", rule));
}

// "ModelConfig.backbone: ..." from a component builder becomes
// "PipelineConfig.model.backbone: ...".
absl::Status Reroot(const absl::Status& s, absl::string_view component,
                    absl::string_view field) {
  std::string message(s.message());
  const std::string prefix = absl::StrCat(component, ".");
  if (absl::StartsWith(message, prefix)) {
    message = absl::StrCat("PipelineConfig.", field, ".",
                           message.substr(prefix.size()));
  } else if (absl::StartsWith(message, absl::StrCat(component, ":"))) {
    message = absl::StrCat("PipelineConfig.", field,
                           message.substr(component.size()));
  } else {
    message = absl::StrCat("PipelineConfig.", field, ": ", message);
  }
  // "...backbone: ResNetOptions.depth: ..." -> "...backbone.depth: ...".
  for (size_t colon = message.find(": "); colon != std::string::npos;
       colon = message.find(": ", colon + 1)) {
    const size_t dot = message.find('.', colon + 2);
    const size_t space = message.find(' ', colon + 2);
    if (dot != std::string::npos && dot < space &&
        absl::EndsWith(message.substr(colon + 2, dot - colon - 2), "Options")) {
      message.erase(colon, dot - colon);
      break;
    }
  }
  return absl::Status(s.code(), message);
}

std::string FieldNames(const pb::Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i)
    names.push_back(d->field(i)->name());
  return absl::StrJoin(names, ", ");
}

absl::Status SetScalar(const pb::FieldDescriptor* field, std::string value,
                       pb::Message* message, const std::string& path) {
  value = std::string(absl::StripAsciiWhitespace(value));
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
      !(value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())) {
    value = absl::StrCat("\"", absl::CEscape(value), "\"");
  }
  if (!pb::TextFormat::ParseFieldValueFromString(value, field, message)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--set ", path, ": cannot parse '", value, "' as ",
        field->cpp_type_name(),
        field->enum_type() != nullptr
            ? absl::StrCat(" (", field->enum_type()->full_name(), ")")
            : ""));
  }
  return absl::OkStatus();
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

}  // namespace

void MergeReplacingLists(const pb::Message& upper, pb::Message* lower) {
  const pb::Reflection* ru = upper.GetReflection();
  const pb::Reflection* rl = lower->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  ru->ListFields(upper, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      rl->ClearField(lower, f);
      for (int i = 0; i < ru->FieldSize(upper, f); ++i) {
        switch (f->cpp_type()) {
#define SNIPER_COPY_REPEATED(CPPTYPE, Type)                      \
  case pb::FieldDescriptor::CPPTYPE:                             \
    rl->Add##Type(lower, f, ru->GetRepeated##Type(upper, f, i)); \
    break;
          SNIPER_COPY_REPEATED(CPPTYPE_INT32, Int32)
          SNIPER_COPY_REPEATED(CPPTYPE_INT64, Int64)
          SNIPER_COPY_REPEATED(CPPTYPE_UINT32, UInt32)
          SNIPER_COPY_REPEATED(CPPTYPE_UINT64, UInt64)
          SNIPER_COPY_REPEATED(CPPTYPE_FLOAT, Float)
          SNIPER_COPY_REPEATED(CPPTYPE_DOUBLE, Double)
          SNIPER_COPY_REPEATED(CPPTYPE_BOOL, Bool)
          SNIPER_COPY_REPEATED(CPPTYPE_STRING, String)
          SNIPER_COPY_REPEATED(CPPTYPE_ENUM, Enum)
#undef SNIPER_COPY_REPEATED
          case pb::FieldDescriptor::CPPTYPE_MESSAGE:
            rl->AddMessage(lower, f)->CopyFrom(
                ru->GetRepeatedMessage(upper, f, i));
            break;
        }
      }
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->containing_oneof() != nullptr &&
          rl->GetOneofFieldDescriptor(*lower, f->containing_oneof()) != f) {
        rl->ClearOneof(lower, f->containing_oneof());
      }
      MergeReplacingLists(ru->GetMessage(upper, f),
                          rl->MutableMessage(lower, f));
      continue;
    }
    switch (f->cpp_type()) {
#define SNIPER_COPY(CPPTYPE, Type)                    \
  case pb::FieldDescriptor::CPPTYPE:                  \
    rl->Set##Type(lower, f, ru->Get##Type(upper, f)); \
    break;
      SNIPER_COPY(CPPTYPE_INT32, Int32)
      SNIPER_COPY(CPPTYPE_INT64, Int64)
      SNIPER_COPY(CPPTYPE_UINT32, UInt32)
      SNIPER_COPY(CPPTYPE_UINT64, UInt64)
      SNIPER_COPY(CPPTYPE_FLOAT, Float)
      SNIPER_COPY(CPPTYPE_DOUBLE, Double)
      SNIPER_COPY(CPPTYPE_BOOL, Bool)
      SNIPER_COPY(CPPTYPE_STRING, String)
      SNIPER_COPY(CPPTYPE_ENUM, Enum)
#undef SNIPER_COPY
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;  // handled above
    }
  }
}

absl::Status ApplyAssignment(const std::string& assignment,
                             pb::Message* message) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set ", assignment,
                     ": expected path=value, e.g. optimizer.base_lr=0.01"));
  }
  const std::string path(
      absl::StripAsciiWhitespace(absl::string_view(assignment).substr(0, eq)));
  const std::string value(assignment.substr(eq + 1));
  pb::Message* m = message;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string name = parts[k];
    int64_t index = -1;
    if (const size_t bracket = name.find('['); bracket != std::string::npos) {
      if (name.back() != ']' ||
          !absl::SimpleAtoi(name.substr(bracket + 1, name.size() - bracket - 2),
                            &index) ||
          index < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": bad index in '", name, "'"));
      }
      name = name.substr(0, bracket);
    }
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set ", path, ": ", d->full_name(), " has no field '",
                       name, "' (fields: ", FieldNames(d), ")"));
    }
    const pb::Reflection* r = m->GetReflection();
    const bool last = k + 1 == parts.size();
    if (index >= 0) {
      if (!f->is_repeated() ||
          f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": only repeated message fields take an index ('",
            name, "')"));
      }
      const int size = r->FieldSize(*m, f);
      if (index > size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": index ", index, " but ", name, " has ", size,
            " elements (use ", size, " to append)"));
      }
      if (last) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": assign a field of ", name, "[",
                         index, "], not the message"));
      }
      m = index == size ? r->AddMessage(m, f)
                        : r->MutableRepeatedMessage(m, f, index);
      continue;
    }
    if (!last) {
      if (f->is_repeated() ||
          f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", path, ": '", name, "' is not a message",
                         f->is_repeated() ? " (index it: name[i])" : ""));
      }
      m = r->MutableMessage(m, f);
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      // A whole message in text format: path={ field: value }.
      absl::string_view text = absl::StripAsciiWhitespace(value);
      if (absl::ConsumePrefix(&text, "{")) absl::ConsumeSuffix(&text, "}");
      pb::Message* target = f->is_repeated()
                                ? (r->ClearField(m, f), r->AddMessage(m, f))
                                : r->MutableMessage(m, f);
      target->Clear();
      return ParseTextProto(std::string(text), absl::StrCat("--set ", path),
                            target);
    }
    if (f->is_repeated()) {
      absl::string_view list = absl::StripAsciiWhitespace(value);
      if (!absl::ConsumePrefix(&list, "[") ||
          !absl::ConsumeSuffix(&list, "]")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--set ", path, ": a repeated field takes a list [a, b, ...]"));
      }
      r->ClearField(m, f);
      if (absl::StripAsciiWhitespace(list).empty()) return absl::OkStatus();
      for (const absl::string_view item : absl::StrSplit(list, ',')) {
        RETURN_IF_ERROR(SetScalar(f, std::string(item), m, path));
      }
      return absl::OkStatus();
    }
    return SetScalar(f, value, m, path);
  }
  return absl::OkStatus();
}

absl::StatusOr<PipelineConfig> LayerConfigs(
    const std::string& default_text, const std::string& default_name,
    const std::string& config_path, const std::vector<std::string>& sets) {
  PipelineConfig merged;
  RETURN_IF_ERROR(ParseTextProto(default_text, default_name, &merged));
  if (!config_path.empty()) {
    PipelineConfig file;
    RETURN_IF_ERROR(ReadTextProtoFile(ResolveUserPath(config_path), &file));
    MergeReplacingLists(file, &merged);
  }
  // Assignments apply to the merged message, so indices address the
  // elements the earlier layers made.
  for (const std::string& s : sets) {
    RETURN_IF_ERROR(ApplyAssignment(s, &merged));
  }
  return merged;
}

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

absl::StatusOr<Pipeline> BuildPipeline(const PipelineConfig& config) {
  int device_index_unused = 0;
  Pipeline p;
  p.config = config;
  PipelineConfig& c = p.config;

  // Seeds: one knob.
  c.mutable_sampler()->set_seed(c.seed());
  c.mutable_loader()->set_seed(c.seed());

  // Data.
  const DatasetConfig& d = c.dataset();
  if (d.has_synthetic()) {
    const SyntheticDataConfig& s = d.synthetic();
    if (s.train_images() < 1 || s.val_images() < 1) {
      return Invalid("dataset.synthetic",
                     "train_images and val_images must be >= 1");
    }
    if (s.min_side() < 64 || s.max_side() < s.min_side()) {
      return Invalid("dataset.synthetic",
                     absl::StrCat("need 64 <= min_side <= max_side, got ",
                                  s.min_side(), ", ", s.max_side()));
    }
  } else if (d.has_coco()) {
    const CocoFilesConfig& f = d.coco();
    if (f.train_annotations().empty() || f.train_images().empty()) {
      return Invalid("dataset.coco", "set train_annotations and train_images");
    }
    if (f.val_annotations().empty() != f.val_images().empty()) {
      return Invalid("dataset.coco",
                     "set both val_annotations and val_images, or neither");
    }
  } else {
    return Invalid("dataset", "set synthetic {} or coco { ... }");
  }
  if (d.max_train_images() < 0 || d.max_val_images() < 0) {
    return Invalid("dataset",
                   "max_train_images and max_val_images must be "
                   ">= 0");
  }

  // Components.
  {
    absl::StatusOr<data::ChipSamplerOptions> s =
        data::BuildChipSamplerOptions(c.sampler());
    if (!s.ok()) return Reroot(s.status(), "ChipSamplerConfig", "sampler");
    p.sampler = *std::move(s);
  }
  {
    absl::StatusOr<data::ChipLoaderOptions> l =
        data::BuildChipLoaderOptions(c.loader(), p.sampler.chip_size);
    if (!l.ok()) return Reroot(l.status(), "LoaderConfig", "loader");
    p.loader = *std::move(l);
    if (p.loader.render.layout != data::ChipLayout::kChwFloat32) {
      return Invalid("loader.layout", "the trainer takes CHW_FLOAT32 chips");
    }
  }
  {
    absl::StatusOr<models::FasterRcnnOptions> m =
        models::BuildFasterRcnnOptions(c.model());
    if (!m.ok()) return Reroot(m.status(), "ModelConfig", "model");
    p.model = *std::move(m);
    if (p.model.rpn_only) {
      return Invalid("model.rpn_only",
                     "the detector stage needs the full model; the RPN stage "
                     "builds its own RPN-only copy");
    }
    p.rpn_model = p.model;
    p.rpn_model.rpn_only = true;
  }

  // Optimizer and schedules.
  const OptimizerConfig& o = c.optimizer();
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
  if (c.schedule().decay_epochs_size() == 0 && !c.schedule().has_epochs()) {
    c.mutable_schedule()->add_decay_epochs(5.33f);
  }
  RETURN_IF_ERROR(ValidateSchedule(c.schedule(), "schedule"));

  // Stages and negatives.
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
  if (n.source() == NegativeChipConfig::RPN) {
    if (!n.has_rpn_schedule()) {
      ScheduleConfig* rs = c.mutable_negatives()->mutable_rpn_schedule();
      rs->set_epochs(2);
    }
    RETURN_IF_ERROR(ValidateSchedule(c.negatives().rpn_schedule(),
                                     "negatives.rpn_schedule"));
    p.stages = {Stage::kRpn, Stage::kProposals};
  }
  p.stages.push_back(Stage::kDetector);

  // Evaluation.
  {
    absl::StatusOr<InferenceOptions> inference =
        BuildInferenceOptions(c.eval(), c.sampler(), "eval");
    if (!inference.ok()) return inference.status();
    p.eval = *std::move(inference);
  }
  if (d.has_synthetic() || !d.coco().val_annotations().empty()) {
    p.stages.push_back(Stage::kEval);
  }

  // Outputs.
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
  if (!(o.initial_loss_scale() >= 1) || o.loss_scale_growth_interval() < 1) {
    return Invalid("optimizer",
                   "initial_loss_scale must be >= 1 and "
                   "loss_scale_growth_interval >= 1");
  }
  {
    const std::string& dev = c.device();
    if (!(dev.empty() || dev == "cpu" || dev == "cuda" ||
          (absl::StartsWith(dev, "cuda:") &&
           absl::SimpleAtoi(dev.substr(5), &device_index_unused) &&
           device_index_unused >= 0))) {
      return Invalid("device", absl::StrCat("must be cpu, cuda, cuda:N or "
                                            "empty (auto), got '",
                                            dev, "'"));
    }
  }
  if (c.distributed().timeout_s() < 1 || !(c.distributed().bucket_mb() > 0)) {
    return Invalid("distributed", "timeout_s must be >= 1 and bucket_mb > 0");
  }
  if (c.threads() < 0) {
    return Invalid("threads", absl::StrCat("must be >= 0, got ", c.threads()));
  }
  p.work_dir =
      Absolute(out.work_dir().empty() ? absl::StrCat("sniper_runs/", c.name())
                                      : out.work_dir());
  c.mutable_output()->set_work_dir(p.work_dir);
  if (n.source() == NegativeChipConfig::RPN) {
    p.proposals_file = n.proposals_file().empty()
                           ? p.work_dir + "/proposals.bin"
                           : Absolute(n.proposals_file());
  } else if (n.source() == NegativeChipConfig::FILE) {
    p.proposals_file = Absolute(n.proposals_file());
  }
  if (d.has_synthetic() && d.synthetic().cache_dir().empty()) {
    const SyntheticDataConfig& s = d.synthetic();
    c.mutable_dataset()->mutable_synthetic()->set_cache_dir(absl::StrCat(
        DefaultCacheRoot(), "/synthetic-", s.train_images(), "-",
        s.val_images(), "-", s.seed(), "-", s.min_side(), "-", s.max_side()));
  } else if (d.has_synthetic()) {
    c.mutable_dataset()->mutable_synthetic()->set_cache_dir(
        Absolute(d.synthetic().cache_dir()));
  }
  if (d.has_coco()) {
    CocoFilesConfig* f = c.mutable_dataset()->mutable_coco();
    f->set_train_annotations(Absolute(f->train_annotations()));
    f->set_train_images(Absolute(f->train_images()));
    if (!f->val_annotations().empty()) {
      f->set_val_annotations(Absolute(f->val_annotations()));
      f->set_val_images(Absolute(f->val_images()));
    }
  }
  if (!c.init_backbone().empty()) {
    c.set_init_backbone(Absolute(c.init_backbone()));
  }
  return p;
}

bool SyntheticDatasetExists(const SyntheticDataConfig& config) {
  for (const char* split : {"train", "val"}) {
    if (access(absl::StrCat(config.cache_dir(), "/instances_", split, ".json")
                   .c_str(),
               R_OK) != 0) {
      return false;
    }
  }
  return true;
}

absl::Status WriteSyntheticDataset(const SyntheticDataConfig& config) {
  data::SyntheticOptions o;
  o.train_images = config.train_images();
  o.val_images = config.val_images();
  o.seed = config.seed();
  o.min_side = config.min_side();
  o.max_side = config.max_side();
  data::SyntheticSplitStats train, val;
  return data::WriteSyntheticDataset(config.cache_dir(), o, &train, &val);
}

absl::StatusOr<InferenceOptions> BuildInferenceOptions(
    const InferenceConfig& e, const data::ChipSamplerConfig& training,
    const std::string& field) {
  InferenceOptions out;
  data::ChipSamplerConfig sampler;
  if (e.scales_size() > 0) {
    *sampler.mutable_scales() = e.scales();
  } else if (training.scales_size() > 0) {
    *sampler.add_scales()->mutable_size() = training.scales(0).size();
  } else {
    return Invalid(field + ".scales", "set at least one test scale");
  }
  sampler.set_mode(data::ChipSamplerConfig::WHOLE_IMAGE);
  sampler.set_negatives_per_image(0);
  sampler.set_shuffle(false);
  absl::StatusOr<data::ChipSamplerOptions> s =
      data::BuildChipSamplerOptions(sampler);
  if (!s.ok()) return Reroot(s.status(), "ChipSamplerConfig", field);
  out.scales = *std::move(s);
  if (!(e.score_threshold() >= 0 && e.score_threshold() < 1)) {
    return Invalid(
        field + ".score_threshold",
        absl::StrCat("must be in [0, 1), got ", e.score_threshold()));
  }
  if (!(e.nms_threshold() > 0 && e.nms_threshold() <= 1)) {
    return Invalid(field + ".nms_threshold",
                   absl::StrCat("must be in (0, 1], got ", e.nms_threshold()));
  }
  if (e.max_detections() < 1) {
    return Invalid(field + ".max_detections",
                   absl::StrCat("must be >= 1, got ", e.max_detections()));
  }
  if (e.merge() == InferenceConfig::MERGE_UNSPECIFIED) {
    return Invalid(field + ".merge", "must be NMS or SOFT_NMS");
  }
  if (!(e.soft_nms_sigma() > 0 && std::isfinite(e.soft_nms_sigma()))) {
    return Invalid(field + ".soft_nms_sigma",
                   absl::StrCat("must be > 0, got ", e.soft_nms_sigma()));
  }
  if (e.max_tile_side() < 0 ||
      (e.max_tile_side() > 0 &&
       (e.max_tile_side() < 64 || e.tile_overlap() < 0 ||
        e.tile_overlap() >= e.max_tile_side() / 2))) {
    return Invalid(field + ".max_tile_side",
                   absl::StrCat("need 0 (no tiling) or >= 64 with 0 <= "
                                "tile_overlap < max_tile_side / 2, got ",
                                e.max_tile_side(), " and ", e.tile_overlap()));
  }
  out.score_threshold = e.score_threshold();
  out.nms_threshold = e.nms_threshold();
  out.max_detections = e.max_detections();
  out.soft_nms = e.merge() == InferenceConfig::SOFT_NMS;
  out.soft_nms_sigma = e.soft_nms_sigma();
  out.max_tile_side = e.max_tile_side();
  out.tile_overlap = e.tile_overlap();
  if (e.batch_size() < 1) {
    return Invalid(field + ".batch_size",
                   absl::StrCat("must be >= 1, got ", e.batch_size()));
  }
  out.batch_size = e.batch_size();
  return out;
}

}  // namespace sniper
