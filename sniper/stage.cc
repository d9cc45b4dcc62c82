#include "sniper/stage.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "port/status_macros.h"
#include "sniper/checkpoint.h"

namespace sniper {

namespace fs = std::filesystem;

namespace {

absl::StatusOr<data::CocoDataset> FirstImages(data::CocoDataset ds, int n) {
  if (n <= 0 || static_cast<size_t>(n) >= ds.num_images()) return ds;
  std::vector<data::CocoImage> images;
  std::vector<data::BoxXYWH> boxes;
  std::vector<int32_t> labels;
  std::vector<uint8_t> crowd;
  std::vector<int64_t> ids;
  std::vector<masks::Segmentation> segmentations;
  for (int i = 0; i < n; ++i) {
    data::CocoImage im = ds.image(i);
    im.first_box = static_cast<uint32_t>(boxes.size());
    const auto b = ds.boxes_of(i);
    boxes.insert(boxes.end(), b.begin(), b.end());
    const auto l = ds.labels_of(i);
    labels.insert(labels.end(), l.begin(), l.end());
    const auto c = ds.crowd_of(i);
    crowd.insert(crowd.end(), c.begin(), c.end());
    const auto a = ds.annotation_ids_of(i);
    ids.insert(ids.end(), a.begin(), a.end());
    if (ds.has_segmentations()) {
      const auto s = ds.segmentations_of(i);
      segmentations.insert(segmentations.end(), s.begin(), s.end());
    }
    images.push_back(std::move(im));
  }
  std::vector<data::CocoCategory> cats(ds.categories().begin(),
                                       ds.categories().end());
  return data::CocoDataset::FromParts(
      ds.source(), std::move(images), std::move(cats), std::move(boxes),
      std::move(labels), std::move(crowd), std::move(ids), ds.stats(),
      std::move(segmentations));
}

}  // namespace

absl::StatusOr<Datasets> LoadDatasets(const Pipeline& p, RunLog& log) {
  const DatasetConfig& d = p.config.dataset();
  std::string train_json, val_json;
  Datasets out;
  if (d.has_synthetic()) {
    const SyntheticDataConfig& s = d.synthetic();
    const std::string dir = s.cache_dir();
    train_json = dir + "/instances_train.json";
    val_json = dir + "/instances_val.json";
    if (!SyntheticDatasetExists(s)) {
      log.Line(absl::StrCat("Generating the synthetic dataset (",
                            s.train_images(), " train + ", s.val_images(),
                            " val images) into ", dir));
      RETURN_IF_ERROR(WriteSyntheticDataset(s));
    }
    out.train_images = out.val_images = dir + "/images";
    out.has_val = true;
  } else {
    train_json = d.coco().train_annotations();
    out.train_images = d.coco().train_images();
    val_json = d.coco().val_annotations();
    out.val_images = d.coco().val_images();
    out.has_val = !val_json.empty();
  }
  data::CocoReaderOptions ro;
  ro.invalid_box_policy = d.skip_invalid_boxes()
                              ? data::InvalidBoxPolicy::kSkip
                              : data::InvalidBoxPolicy::kError;
  // The mask branch learns from the annotations' segmentations.
  ro.keep_segmentations = p.model.has_mask();
  ASSIGN_OR_RETURN(data::CocoDataset train,
                   data::ReadCocoInstances(train_json, ro));
  ASSIGN_OR_RETURN(out.train,
                   FirstImages(std::move(train), d.max_train_images()));
  if (static_cast<int64_t>(out.train.num_categories()) != p.model.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PipelineConfig.model.num_classes is ", p.model.num_classes, " but ",
        train_json, " has ", out.train.num_categories(), " categories"));
  }
  if (ro.keep_segmentations && out.train.stats().segmentations == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PipelineConfig.model.mask_head is enabled but ",
                     train_json, " has no segmentations to learn masks from"));
  }
  if (out.has_val) {
    out.val_json = val_json;
    ASSIGN_OR_RETURN(data::CocoDataset val,
                     data::ReadCocoInstances(val_json, ro));
    ASSIGN_OR_RETURN(out.val, FirstImages(std::move(val), d.max_val_images()));
    if (out.val.num_categories() != out.train.num_categories()) {
      return absl::InvalidArgumentError(absl::StrCat(
          val_json, " has ", out.val.num_categories(), " categories but ",
          train_json, " has ", out.train.num_categories()));
    }
  }
  log.Line(absl::StrCat("Data: ", out.train.num_images(), " training images (",
                        out.train.num_boxes(), " boxes)",
                        out.has_val ? absl::StrCat(", ", out.val.num_images(),
                                                   " validation images")
                                    : std::string(),
                        ", ", out.train.num_categories(), " categories"));
  return out;
}

std::string StageDir(const Pipeline& p, Stage stage) {
  return absl::StrCat(p.work_dir, "/", StageName(stage));
}

absl::StatusOr<models::FasterRcnn> LoadFinalModel(
    const StageContext& ctx, Stage stage, models::FasterRcnnOptions options) {
  const Pipeline& p = ctx.p;
  const std::string path =
      stage == Stage::kDetector && !ctx.options.checkpoint.empty()
          ? ctx.options.checkpoint
          : StageDir(p, stage) + "/final.pt";
  if (!fs::exists(path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("stage ", StageName(stage), " has not finished: ", path,
                     " is missing (run that stage first)"));
  }
  models::FasterRcnn model(options);
  RETURN_IF_ERROR(LoadCheckpointWeights(path, model, ctx.device));
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

std::string RunHeader(const std::string& what, const Pipeline& p,
                      torch::Device device, int threads,
                      const std::string& extra) {
  return absl::StrCat("SNIPER ", what, " '", p.config.name(), "' in ",
                      p.work_dir, " on ", device.str(), ", ",
                      PipelineConfig::Precision_Name(p.config.precision()),
                      " (", threads, " compute threads, ", p.loader.threads,
                      " loader threads", extra, ")");
}

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

}  // namespace sniper
