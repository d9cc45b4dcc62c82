#include "sniper/stage.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "data/synthetic.h"
#include "data/voc_dataset.h"
#include "data/yolo_dataset.h"
#include "port/json_writer.h"
#include "port/peak_memory.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/checkpoint.h"
#include "sniper/device.h"
#include "sniper/distributed.h"
#include "sniper/event_writer.h"
#include "sniper/stop_signals.h"

namespace sniper {

namespace fs = std::filesystem;

namespace {

// The first n images (all for n <= 0: dataset.max_*_images unset).
data::CocoDataset FirstImages(data::CocoDataset ds, int64_t n) {
  if (n <= 0 || static_cast<size_t>(n) >= ds.num_images()) return ds;
  return ds.Prefix(static_cast<size_t>(n));
}

// The log's first line: "SNIPER <what> '<name>' in <work_dir> on <device>,
// <precision> (<threads> compute threads, <n> loader threads<extra>)".
std::string RunHeader(const std::string& what, const Pipeline& p,
                      torch::Device device, int threads,
                      const std::string& extra) {
  return absl::StrCat("SNIPER ", what, " '", p.config.name(), "' in ",
                      p.work_dir, " on ", device.str(), ", ",
                      PipelineConfig::Precision_Name(p.config.precision()),
                      " (", threads, " compute threads, ", p.loader.threads,
                      " loader threads", extra, ")");
}

// Intra-op threads for this process: config.threads, or the machine's
// cores shared by the processes on it, less the loader's extra threads.
// Sets them and returns the count.
int SetComputeThreads(const Pipeline& p, int processes_on_machine) {
  const int hw =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                      std::max(1, processes_on_machine));
  const int threads = p.config.threads() > 0
                          ? p.config.threads()
                          : std::max(1, hw - std::max(0, p.loader.threads - 1));
  at::set_num_threads(threads);
  return threads;
}

}  // namespace

namespace {

// The synthetic dataset generated into its directory unless already there.
absl::Status EnsureSynthetic(const DatasetOptions& d, RunLog& log) {
  if (!d.synthetic || data::SyntheticDatasetIsCurrent(d.synthetic_dir)) {
    return absl::OkStatus();
  }
  log.Line(absl::StrCat("Generating the synthetic dataset (",
                        d.synthetic_options.train_images, " train + ",
                        d.synthetic_options.val_images, " val images) into ",
                        d.synthetic_dir));
  data::SyntheticSplitStats train, val;
  return data::WriteSyntheticDataset(d.synthetic_dir, d.synthetic_options,
                                     &train, &val);
}

// One split in its format: the training split (`train`) or the validation
// split labelled by `train_classes` (VOC and YOLO give their class names,
// in training's order).
absl::StatusOr<data::CocoDataset> ReadSplit(
    const DatasetOptions& d, bool train,
    const std::vector<std::string>& train_classes,
    const data::CocoReaderOptions& ro) {
  if (d.voc.has_value()) {
    std::vector<std::string> names(d.voc->class_names().begin(),
                                   d.voc->class_names().end());
    if (!train) names = train_classes;
    return data::ReadVocSplit(
        *d.voc, train ? d.voc->train_split() : d.voc->val_split(), names, ro);
  }
  if (d.yolo.has_value()) {
    std::vector<std::string> names = train_classes;
    if (train) {
      ASSIGN_OR_RETURN(names, data::YoloClassNames(*d.yolo));
    }
    return data::ReadYoloSplit(
        *d.yolo, train ? d.yolo->train_images() : d.yolo->val_images(), names,
        ro);
  }
  return data::ReadCocoInstances(train ? d.train_json : d.val_json, ro);
}

}  // namespace

absl::StatusOr<Datasets> LoadDatasets(const DatasetOptions& d, RunLog& log) {
  RETURN_IF_ERROR(EnsureSynthetic(d, log));
  Datasets out;
  out.train_json = d.train_json;
  out.train_images = d.train_images;
  out.val_json = d.val_json;
  out.val_images = d.val_images;
  out.has_val = d.has_val;
  data::CocoReaderOptions ro;
  ro.invalid_box_policy = d.skip_invalid_boxes ? data::InvalidBoxPolicy::kSkip
                                               : data::InvalidBoxPolicy::kError;
  ro.keep_segmentations = d.keep_segmentations;
  ASSIGN_OR_RETURN(data::CocoDataset train, ReadSplit(d, true, {}, ro));
  out.train = FirstImages(std::move(train), d.max_train_images);
  const std::string& train_source = out.train.source();
  if (static_cast<int64_t>(out.train.num_categories()) != d.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PipelineConfig.model.num_classes is ", d.num_classes, " but ",
        train_source, " has ", out.train.num_categories(), " categories"));
  }
  if (ro.keep_segmentations && out.train.stats().segmentations == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PipelineConfig.model.mask_head is enabled but ", train_source,
        " has no segmentations to learn masks from"));
  }
  if (out.has_val) {
    std::vector<std::string> classes;
    for (const data::CocoCategory& c : out.train.categories()) {
      classes.push_back(c.name);
    }
    ASSIGN_OR_RETURN(data::CocoDataset val, ReadSplit(d, false, classes, ro));
    out.val = FirstImages(std::move(val), d.max_val_images);
    if (out.val.num_categories() != out.train.num_categories()) {
      return absl::InvalidArgumentError(
          absl::StrCat(out.val.source(), " has ", out.val.num_categories(),
                       " categories but ", train_source, " has ",
                       out.train.num_categories()));
    }
  }
  log.Line(absl::StrCat(
      "Data: ", out.train.num_images(), " training images (",
      out.train.num_boxes(), " boxes, ", out.train.num_images_without_boxes(),
      " images without any)",
      out.has_val
          ? absl::StrCat(", ", out.val.num_images(), " validation images")
          : std::string(),
      ", ", out.train.num_categories(), " categories"));
  return out;
}

absl::StatusOr<models::FasterRcnn> LoadStageModel(
    const std::string& path, Stage stage,
    const models::FasterRcnnOptions& options, torch::Device device) {
  if (!fs::exists(path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("stage ", StageName(stage), " has not finished: ", path,
                     " is missing (run that stage first)"));
  }
  models::FasterRcnn model(options);
  RETURN_IF_ERROR(LoadCheckpointWeights(path, model, device));
  model->eval();
  return model;
}

absl::Status CreateWorkDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create work directory ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

int RunEnv::rank() const { return dist != nullptr ? dist->rank() : 0; }

absl::StatusOr<int> AgreeOnStop(const RunEnv& env) {
  const int local = StopRequested();
  if (env.dist == nullptr) return local;
  // {ranks asking, the sum of their signals}: exact when they got the same.
  torch::Tensor votes = torch::tensor(
      {local != 0 ? 1.0 : 0.0, static_cast<double>(local)}, torch::kFloat64);
  RETURN_IF_ERROR(env.dist->SumInPlace(votes));
  const double asking = votes[0].item<double>();
  if (asking == 0) return 0;
  if (local != 0) return local;
  const double mean = votes[1].item<double>() / asking;
  return mean == static_cast<int>(mean) ? static_cast<int>(mean) : -1;
}

int RunEnv::world_size() const {
  return dist != nullptr ? dist->world_size() : 1;
}

RunSession::RunSession(torch::Device device) {
  env_.device = device;
  if (device.is_cuda()) guard_.emplace(device);
}

RunSession::~RunSession() = default;

absl::Status RunSession::Start(const Pipeline& p,
                               const SessionOptions& options) {
  log_ = std::make_unique<RunLog>(options.log_path, options.progress,
                                  options.echo);
  env_.log = log_.get();
  const int threads = SetComputeThreads(p, options.processes_on_machine);
  ASSIGN_OR_RETURN(env_.autocast,
                   AutocastType(p.config.precision(), env_.device));
  log_->Line(
      RunHeader(options.what, p, env_.device, threads, options.header_extra));
  if (options.events) {
    ASSIGN_OR_RETURN(events_, EventWriter::Create(p.work_dir));
    env_.events = events_.get();
  }
  return absl::OkStatus();
}

std::string StageSummaryPath(const std::string& work_dir, Stage stage) {
  return absl::StrCat(work_dir, "/summary/", StageName(stage), ".json");
}

std::string StageSummaryJson(const StageSummary& s) {
  JsonWriter w(/*break_depth=*/1);
  w.BeginObject();
  w.Key("stage").String(StageName(s.stage));
  w.Key("seconds").Double(s.seconds);
  w.Key("peak_rss_bytes").Int(s.peak_rss_bytes);
  if (s.stage == Stage::kRpn || s.stage == Stage::kDetector) {
    w.Key("steps").Int(s.steps);
    w.Key("chips").Int(s.chips);
    w.Key("chips_per_s").Double(s.chips / std::max(s.seconds, 1e-9));
    w.Key("images_per_s").Double(s.images_per_s);
    w.Key("pixels_per_image").Double(s.pixels_per_image);
    w.Key("final_loss").Double(s.final_loss);
    w.Key("nonfinite_steps").Int(s.nonfinite_steps);
    w.Key("skipped_chips").Int(s.skipped_chips);
    w.Key("images").Int(s.images);
    w.Key("images_without_boxes").Int(s.images_without_boxes);
  } else {
    w.Key("images").Int(s.images);
    w.Key("images_per_s").Double(s.images / std::max(s.seconds, 1e-9));
  }
  if (s.stage == Stage::kProposals) w.Key("proposals").Int(s.proposals);
  if (s.stage == Stage::kEval) {
    w.Key("stats").BeginArray();
    for (double v : s.coco_stats) w.Double(v);
    w.EndArray();
    w.Key("voc_ap50").Double(s.voc_ap50);
    if (!s.mask_stats.empty()) {
      w.Key("mask_stats").BeginArray();
      for (double v : s.mask_stats) w.Double(v);
      w.EndArray();
    }
  }
  w.EndObject();
  return w.Finish();
}

absl::Status WriteStageSummary(const std::string& work_dir,
                               const StageSummary& summary) {
  std::error_code ec;
  std::filesystem::create_directories(work_dir + "/summary", ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", work_dir, "/summary: ", ec.message()));
  }
  return WriteFileAtomically(StageSummaryPath(work_dir, summary.stage),
                             StageSummaryJson(summary));
}

}  // namespace sniper
