#include "sniper/trainer.h"

#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_loader.h"
#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "data/proposals.h"
#include "evaluation/coco_eval.h"
#include "evaluation/coco_json.h"
#include "google/protobuf/text_format.h"
#include "models/faster_rcnn.h"
#include "models/resnet.h"
#include "models/sync_batch_norm.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "port/torch_compat.h"
#include "sniper/batch.h"
#include "sniper/checkpoint.h"
#include "sniper/device.h"
#include "sniper/distributed.h"
#include "sniper/event_writer.h"
#include "sniper/inference.h"
#include "sniper/loss_scaler.h"
#include "sniper/optimizer.h"
#include "sniper/plot.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kLossNames[] = {"rpn_cls", "rpn_box", "rcnn_cls",
                                      "rcnn_box"};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = static_cast<int64_t>(std::lround(s));
  if (t >= 3600) {
    return absl::StrFormat("%dh%02dm", t / 3600, (t / 60) % 60);
  }
  return absl::StrFormat("%dm%02ds", t / 60, t % 60);
}

// Progress to stderr (rewritten in place on a terminal) and every line to
// <work_dir>/train.log.
class RunLog {
 public:
  RunLog(const std::string& path, bool progress, bool echo = true)
      : file_(path.empty() ? nullptr : std::fopen(path.c_str(), "a")),
        progress_(progress),
        echo_(echo),
        tty_(isatty(fileno(stderr)) != 0) {}
  ~RunLog() {
    EndProgress();
    if (file_ != nullptr) std::fclose(file_);
  }

  void Line(const std::string& line) {
    EndProgress();
    if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
    ToFile(line);
  }
  // Goes to the log file, and to stderr only when progress is on.
  void Progress(const std::string& line) {
    ToFile(line);
    if (!progress_) return;
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      open_line_ = true;
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }

 private:
  void EndProgress() {
    if (open_line_) std::fprintf(stderr, "\n");
    open_line_ = false;
  }
  void ToFile(const std::string& line) {
    if (file_ == nullptr) return;
    std::fprintf(file_, "%s\n", line.c_str());
    std::fflush(file_);
  }

  std::FILE* file_;
  bool progress_, echo_, tty_;
  bool open_line_ = false;
};

// ---------------------------------------------------------------------------
// Data.

absl::StatusOr<data::CocoDataset> FirstImages(data::CocoDataset ds, int n) {
  if (n <= 0 || static_cast<size_t>(n) >= ds.num_images()) return ds;
  std::vector<data::CocoImage> images;
  std::vector<data::BoxXYWH> boxes;
  std::vector<int32_t> labels;
  std::vector<uint8_t> crowd;
  std::vector<int64_t> ids;
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
    images.push_back(std::move(im));
  }
  std::vector<data::CocoCategory> cats(ds.categories().begin(),
                                       ds.categories().end());
  return data::CocoDataset::FromParts(
      ds.source(), std::move(images), std::move(cats), std::move(boxes),
      std::move(labels), std::move(crowd), std::move(ids), ds.stats());
}

struct Datasets {
  data::CocoDataset train, val;
  std::string train_images, val_images;
  std::string val_json;
  bool has_val = false;
};

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
  ASSIGN_OR_RETURN(data::CocoDataset train,
                   data::ReadCocoInstances(train_json, ro));
  ASSIGN_OR_RETURN(out.train,
                   FirstImages(std::move(train), d.max_train_images()));
  if (static_cast<int64_t>(out.train.num_categories()) != p.model.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PipelineConfig.model.num_classes is ", p.model.num_classes, " but ",
        train_json, " has ", out.train.num_categories(), " categories"));
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

// ---------------------------------------------------------------------------
// The run.

struct Context {
  const Pipeline& p;
  const RunOptions& options;
  RunLog& log;
  Datasets& data;
  torch::Device device;
  // Mixed precision (precision BF16/FP16): autocast to this type.
  std::optional<c10::ScalarType> autocast;
  std::unique_ptr<EventWriter> events;
  std::FILE* metrics = nullptr;
  std::map<Stage, LossHistory> histories;
  Distributed* dist = nullptr;  // several processes; null for one
};

uint64_t StepSeed(uint64_t seed, Stage stage, int64_t step) {
  return data::Mix64(seed * 0x9E3779B97F4A7C15ull +
                     (static_cast<uint64_t>(stage) << 48) +
                     static_cast<uint64_t>(step));
}

models::FasterRcnn MakeModel(const models::FasterRcnnOptions& options,
                             uint64_t seed, Stage stage) {
  torch::manual_seed(StepSeed(seed, stage, -1) >> 1);
  return models::FasterRcnn(options);
}

std::string StageDir(const Pipeline& p, Stage stage) {
  return absl::StrCat(p.work_dir, "/", StageName(stage));
}

absl::StatusOr<StageSummary> Train(Context& ctx, Stage stage,
                                   const data::ProposalSet* proposals) {
  const Pipeline& p = ctx.p;
  const PipelineConfig& c = p.config;
  const bool rpn = stage == Stage::kRpn;
  const models::FasterRcnnOptions& mo = rpn ? p.rpn_model : p.model;
  const ScheduleConfig& sc = rpn ? c.negatives().rpn_schedule() : c.schedule();
  const OptimizerConfig& oc = c.optimizer();
  const std::string dir = StageDir(p, stage);
  fs::create_directories(dir);
  StageSummary summary;
  summary.stage = stage;

  models::FasterRcnn model = MakeModel(mo, c.seed(), stage);
  if (!c.init_backbone().empty()) {
    int64_t ignored = 0;
    RETURN_IF_ERROR(models::LoadTorchvisionStateDict(
        c.init_backbone(), *model->backbone(), &ignored));
  }
  model->to(ctx.device);
  const int rank = ctx.dist != nullptr ? ctx.dist->rank() : 0;
  const int world = ctx.dist != nullptr ? ctx.dist->world_size() : 1;
  if (ctx.dist != nullptr) {
    // Every rank starts from rank 0's weights.
    std::vector<torch::Tensor> state;
    for (const torch::Tensor& t : model->parameters())
      state.push_back(t.data());
    for (const torch::Tensor& t : model->buffers()) state.push_back(t);
    RETURN_IF_ERROR(ctx.dist->Broadcast(state));
  }
  const bool fp16 = c.precision() == PipelineConfig::FP16;
  LossScaler scaler(oc.initial_loss_scale(), oc.loss_scale_growth_interval());
  std::unique_ptr<torch::optim::SGD> sgd = MakeSgd(oc, *model);
  torch::optim::SGD& optimizer = *sgd;

  // Synchronized batch norm for this stage's training (removed on return).
  struct SyncBnScope {
    ~SyncBnScope() { models::SetBatchNormSync({}); }
  } sync_bn_scope;
  if (ctx.dist != nullptr && c.distributed().sync_bn()) {
    RETURN_IF_ERROR(ctx.dist->EnableSyncBatchNorm());
    Distributed* d = ctx.dist;
    models::SetBatchNormSync([d](torch::Tensor& t) { d->SyncBatchNormSum(t); });
  }
  std::unique_ptr<GradientReducer> reducer;
  if (ctx.dist != nullptr) {
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor& t : model->parameters()) {
      if (t.requires_grad()) trainable.push_back(t);
    }
    reducer = ctx.dist->MakeReducer(
        std::move(trainable),
        static_cast<int64_t>(c.distributed().bucket_mb() * 1048576.0));
  }
  data::ChipSampler sampler(p.sampler);
  const int64_t batch_size = p.loader.batch_size;
  const int64_t chips0 =
      static_cast<int64_t>(sampler.Epoch(ctx.data.train, proposals, 0).size());
  if (chips0 == 0) {
    return absl::FailedPreconditionError(
        "the chip sampler produced no chips for the training set (no valid "
        "boxes at any scale?)");
  }
  // Steps per epoch: global batches of world x batch_size chips (the last,
  // partial one dropped when there are several ranks: data/chip_loader.h).
  const int64_t batches0 = world > 1 ? chips0 / (batch_size * world)
                                     : (chips0 + batch_size - 1) / batch_size;
  if (batches0 == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(chips0, " chips per epoch cannot fill one step of ", world,
                     " x ", batch_size, " chips"));
  }
  ASSIGN_OR_RETURN(const LrSchedule schedule,
                   LrSchedule::Build(oc, sc, batches0));
  const int64_t total = schedule.total_steps();
  const double images_per_chip =
      static_cast<double>(ctx.data.train.num_images()) / chips0;

  TrainingPosition pos;
  TrainingCounters counters;
  LossHistory& history = ctx.histories[stage];
  history.clear();
  const std::string final_path = dir + "/final.pt";
  if (fs::exists(final_path)) {
    ASSIGN_OR_RETURN(CheckpointState l,
                     LoadCheckpoint(final_path, model, nullptr, ctx.device));
    history = l.history;
    summary.skipped = true;
    summary.steps = l.position.step;
    summary.chips = l.counters.chips;
    summary.nonfinite_steps = l.counters.nonfinite;
    summary.skipped_chips = l.counters.skipped_chips;
    summary.seconds = l.counters.seconds;
    ctx.log.Line(absl::StrCat("[", StageName(stage), "] already finished (",
                              final_path, "), ", l.position.step, " steps"));
    return summary;
  }
  const auto existing = ListCheckpoints(dir);
  if (!existing.empty()) {
    ASSIGN_OR_RETURN(CheckpointState l,
                     LoadCheckpoint(existing.back().second, model, &optimizer,
                                    ctx.device));
    pos = l.position;
    counters = l.counters;
    history = l.history;
    if (fp16) {
      scaler.Restore(l.counters.loss_scale, l.counters.scaler_clean_steps);
    }
    ctx.log.Line(absl::StrCat("[", StageName(stage), "] resuming from ",
                              existing.back().second, " at step ", pos.step,
                              " (epoch ", pos.epoch, ", batch ", pos.batch,
                              ")"));
  }
  const std::string config_text = [&] {
    std::string t;
    google::protobuf::TextFormat::PrintToString(c, &t);
    return t;
  }();

  ctx.log.Line(absl::StrCat(
      "[", StageName(stage), "] ", rpn ? "RPN-only model" : "detector", ", ",
      chips0, " chips per epoch (",
      proposals ? "positive + negative" : "positive", "), batch ", batch_size,
      ", ", total, " steps (", absl::StrFormat("%.3g", sc.epochs()),
      " epochs), ", torch::get_num_threads(), " threads"));

  model->train();
  data::ChipLoaderOptions loader_options = p.loader;
  loader_options.shard_index = rank;
  loader_options.num_shards = world;
  data::ChipLoader loader(ctx.data.train, ctx.data.train_images, sampler,
                          proposals, loader_options);
  loader.StartEpoch(pos.epoch, pos.batch);
  const Clock::time_point start = Clock::now();
  const double seconds_before = counters.seconds;
  const int64_t step_at_start = pos.step;
  Clock::time_point window_start = Clock::now();
  int64_t window_chips = 0, window_finite = 0;
  std::array<double, 5> window_loss{};
  int64_t nonfinite_in_a_row = 0;
  torch::Tensor images;
  std::vector<models::ChipTargets> targets;
  CheckpointInfo info;
  info.config_text = config_text;
  for (const data::CocoCategory& cat : ctx.data.train.categories()) {
    info.category_names.push_back(cat.name);
    info.category_ids.push_back(cat.id);
  }
  auto save = [&](bool finished) -> absl::Status {
    if (rank != 0) return absl::OkStatus();  // rank 0 writes checkpoints
    counters.seconds = seconds_before + Seconds(start);
    counters.loss_scale = scaler.scale();
    counters.scaler_clean_steps = scaler.clean_steps();
    const CheckpointState state{pos, counters, history, finished};
    return finished ? SaveCheckpoint(final_path, model, &optimizer, state, info)
                    : SaveRotatingCheckpoint(dir, c.output().keep_checkpoints(),
                                             model, &optimizer, state, info);
  };

  while (pos.step < total) {
    ASSIGN_OR_RETURN(std::optional<data::ChipBatch> batch, loader.Next());
    if (!batch.has_value()) {
      ++pos.epoch;
      pos.batch = 0;
      loader.StartEpoch(pos.epoch, 0);
      continue;
    }
    pos.batch = batch->index + 1;
    counters.skipped_chips += batch->skipped;
    for (const std::string& e : batch->errors) {
      ctx.log.Line(absl::StrCat("[", StageName(stage), "] skipped chip: ", e));
    }
    if (batch->size == 0) continue;
    ChipBatchToTensors(*batch, p.loader.render, &images, &targets);
    if (ctx.device.type() != torch::kCPU) {
      images = images.to(ctx.device);
      for (models::ChipTargets& t : targets) {
        t.boxes = t.boxes.to(ctx.device);
        t.labels = t.labels.to(ctx.device);
        t.ignore = t.ignore.to(ctx.device);
      }
    }
    const double lr = schedule.At(pos.step);
    SetLearningRate(optimizer, lr);
    compat::ZeroGrad(optimizer);
    // A diverged step shows as a non-finite loss or gradient, or as an op
    // refusing non-finite input (NMS on NaN proposals): skip it, count it.
    // With several processes every rank skips when any rank must.
    std::array<double, 5> values{};
    std::string why;
    bool overflow = false;
    torch::Tensor loss;
    try {
      std::map<std::string, torch::Tensor> losses;
      {
        const compat::OptionalAutocast autocast(ctx.device.type(),
                                                ctx.autocast);
        losses =
            model->Losses(images, targets, StepSeed(c.seed(), stage, pos.step),
                          static_cast<int64_t>(rank) * batch_size);
      }
      loss = torch::zeros({});
      for (int k = 0; k < 4; ++k) {
        auto it = losses.find(kLossNames[k]);
        if (it == losses.end()) continue;
        loss = loss + it->second;
        values[k + 1] = it->second.item<double>();
      }
      values[0] = loss.item<double>();
      if (!std::isfinite(values[0])) why = absl::StrCat("loss ", values[0]);
    } catch (const c10::Error& e) {
      bool finite_weights = true;
      for (const torch::Tensor& t : model->parameters()) {
        finite_weights =
            finite_weights && torch::isfinite(t).all().item<bool>();
      }
      // The ops say "non-finite" when they refuse such input (ops/).
      if (finite_weights && !absl::StrContains(e.msg(), "non-finite")) {
        return absl::InternalError(absl::StrCat("[", StageName(stage),
                                                "] step ", pos.step + 1, ": ",
                                                e.what_without_backtrace()));
      }
      why = absl::StrCat("values (", e.msg(), ")");
    }
    if (ctx.dist != nullptr) {
      // The step's losses averaged over the ranks, and whether any failed.
      torch::Tensor shared = torch::zeros({6}, torch::kFloat64);
      if (why.empty()) {
        for (int k = 0; k < 5; ++k) shared[k] = values[k];
      } else {
        shared[5] = 1;
      }
      RETURN_IF_ERROR(ctx.dist->SumInPlace(shared));
      for (int k = 0; k < 5; ++k) {
        values[k] = shared[k].item<double>() / world;
      }
      if (why.empty() && shared[5].item<double>() > 0) {
        why = "values on another rank";
      }
    }
    if (why.empty()) {
      if (reducer != nullptr) reducer->Arm();
      (fp16 ? loss * scaler.scale() : loss).backward();
      // Gradients averaged over the ranks (all-reduced while backward ran).
      if (reducer != nullptr) RETURN_IF_ERROR(reducer->Finish());
      if (fp16) {
        for (const torch::Tensor& t : model->parameters()) {
          if (t.grad().defined()) t.mutable_grad().div_(scaler.scale());
        }
      }
      const double grad_norm = torch::nn::utils::clip_grad_norm_(
          model->parameters(), oc.clip_grad_norm() > 0
                                   ? oc.clip_grad_norm()
                                   : std::numeric_limits<double>::infinity());
      if (fp16 && !scaler.Update(std::isfinite(grad_norm)) &&
          !scaler.at_minimum()) {
        overflow = true;  // the scaler's business: skip, not divergence
      } else if (!std::isfinite(grad_norm)) {
        why = absl::StrCat("gradient norm ", grad_norm);
      }
    }
    if (!why.empty()) {
      ++counters.nonfinite;
      ++nonfinite_in_a_row;
      ctx.log.Line(absl::StrCat("[", StageName(stage), "] step ", pos.step + 1,
                                ": non-finite ", why, "; step skipped (",
                                nonfinite_in_a_row, " in a row)"));
      if (nonfinite_in_a_row >= oc.max_nonfinite_steps_in_a_row()) {
        return absl::AbortedError(absl::StrCat(
            "[", StageName(stage), "] ", nonfinite_in_a_row,
            " non-finite steps in a row at step ", pos.step + 1,
            " (optimizer.max_nonfinite_steps_in_a_row = ",
            oc.max_nonfinite_steps_in_a_row(),
            "): lower optimizer.base_lr, raise schedule.warmup_steps or set "
            "optimizer.clip_grad_norm"));
      }
    } else if (overflow) {
      ++counters.fp16_overflows;
    } else {
      nonfinite_in_a_row = 0;
      optimizer.step();
      for (int k = 0; k < 5; ++k) window_loss[k] += values[k];
      ++window_finite;
    }
    ++pos.step;
    counters.chips += static_cast<int64_t>(batch->size) * world;
    window_chips += static_cast<int64_t>(batch->size) * world;

    const bool last = pos.step == total;
    if (pos.step % c.output().log_every_steps() == 0 || last) {
      const double dt = Seconds(window_start);
      const double chips_per_s = window_chips / std::max(dt, 1e-9);
      const double images_per_s = chips_per_s * images_per_chip;
      const double elapsed = Seconds(start);
      const double eta = elapsed /
                         std::max<int64_t>(pos.step - step_at_start, 1) *
                         (total - pos.step);
      std::array<double, 6> row{static_cast<double>(pos.step)};
      for (int k = 0; k < 5; ++k) {
        row[k + 1] = window_finite > 0 ? window_loss[k] / window_finite : NAN;
      }
      history.push_back(row);
      std::string line =
          absl::StrFormat("[%s] step %d/%d  epoch %d  loss %.4f",
                          StageName(stage), pos.step, total, pos.epoch, row[1]);
      for (int k = 0; k < (rpn ? 2 : 4); ++k) {
        absl::StrAppendFormat(&line, "  %s %.4f", kLossNames[k], row[k + 2]);
      }
      absl::StrAppendFormat(&line,
                            "  lr %.4g  %.2f chips/s  %.2f images/s  ETA %s",
                            lr, chips_per_s, images_per_s, FormatDuration(eta));
      ctx.log.Progress(line);
      const std::string tag = StageName(stage);
      if (ctx.events != nullptr) {
        RETURN_IF_ERROR(ctx.events->AddScalar(tag + "/loss", pos.step, row[1]));
        for (int k = 0; k < (rpn ? 2 : 4); ++k) {
          RETURN_IF_ERROR(ctx.events->AddScalar(
              absl::StrCat(tag, "/", kLossNames[k]), pos.step, row[k + 2]));
        }
        RETURN_IF_ERROR(ctx.events->AddScalar(tag + "/lr", pos.step, lr));
        RETURN_IF_ERROR(
            ctx.events->AddScalar(tag + "/chips_per_s", pos.step, chips_per_s));
        RETURN_IF_ERROR(ctx.events->AddScalar(tag + "/images_per_s", pos.step,
                                              images_per_s));
      }
      if (ctx.metrics != nullptr) {
        std::fprintf(ctx.metrics,
                     "%s,%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,%.4f\n",
                     tag.c_str(), static_cast<long long>(pos.step),
                     static_cast<long long>(pos.epoch), lr, row[1], row[2],
                     row[3], row[4], row[5], chips_per_s, images_per_s);
        std::fflush(ctx.metrics);
      }
      window_start = Clock::now();
      window_chips = window_finite = 0;
      window_loss = {};
    }
    const bool interrupt = ctx.options.interrupt_after_step > 0 &&
                           pos.step == ctx.options.interrupt_after_step;
    if (!last &&
        (pos.step % c.output().checkpoint_every_steps() == 0 || interrupt)) {
      RETURN_IF_ERROR(save(false));
    }
    if (interrupt && !last) {
      summary.interrupted = true;
      ctx.log.Line(absl::StrCat("[", StageName(stage),
                                "] interrupted after step ", pos.step));
      break;
    }
  }
  if (!summary.interrupted) RETURN_IF_ERROR(save(true));
  // The others go on once rank 0's checkpoint is on disk.
  if (ctx.dist != nullptr) RETURN_IF_ERROR(ctx.dist->Barrier());
  counters.seconds = seconds_before + Seconds(start);
  summary.steps = pos.step;
  summary.chips = counters.chips;
  summary.nonfinite_steps = counters.nonfinite;
  summary.skipped_chips = counters.skipped_chips;
  summary.seconds = counters.seconds;
  summary.final_loss = history.empty() ? NAN : history.back()[1];
  if (!summary.interrupted) {
    ctx.log.Line(absl::StrFormat(
        "[%s] done: %d steps, %d chips in %s (%.2f chips/s), final loss "
        "%.4f, %d non-finite steps skipped, %d chips skipped (unreadable "
        "images)",
        StageName(stage), summary.steps, summary.chips,
        FormatDuration(summary.seconds),
        summary.chips / std::max(summary.seconds, 1e-9), summary.final_loss,
        summary.nonfinite_steps, summary.skipped_chips));
  }
  return summary;
}

absl::StatusOr<models::FasterRcnn> LoadFinal(
    const Context& ctx, Stage stage, models::FasterRcnnOptions options) {
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

absl::StatusOr<StageSummary> WriteProposalsStage(Context& ctx) {
  const Pipeline& p = ctx.p;
  const NegativeChipConfig& n = p.config.negatives();
  StageSummary summary;
  summary.stage = Stage::kProposals;
  if (ctx.options.resume && fs::exists(p.proposals_file)) {
    summary.skipped = true;
    ctx.log.Line(
        absl::StrCat("[proposals] already written: ", p.proposals_file));
    return summary;
  }
  if (ctx.dist != nullptr && ctx.dist->rank() != 0) {
    // Rank 0 writes the file; the others wait for it (a dead rank 0 ends
    // the wait at once: the store goes with it).
    RETURN_IF_ERROR(ctx.dist->WaitFor("proposals", std::chrono::hours(72)));
    summary.skipped = true;
    return summary;
  }
  models::FasterRcnnOptions mo = p.rpn_model;
  mo.test_proposals.post_nms_top_n = n.proposals_per_scale();
  mo.test_proposals.nms_threshold = n.proposal_nms();
  ASSIGN_OR_RETURN(models::FasterRcnn model, LoadFinal(ctx, Stage::kRpn, mo));
  torch::NoGradGuard no_grad;
  data::ChipSampler sampler(p.sampler);
  const data::CocoDataset& ds = ctx.data.train;
  data::ProposalSet set(sampler.num_scales());
  const Clock::time_point start = Clock::now();
  // Decode the next image while the network runs on this one.
  auto render = [&](size_t i, int s) {
    const data::CocoImage& im = ds.image(i);
    const data::ImageAtScale at = data::MakeImageAtScale(
        sampler.options(), s, im.width, im.height, sampler.options().stride);
    return RenderView(ds, ctx.data.train_images, sampler, i, s,
                      {0, 0, at.scaled_width, at.scaled_height},
                      p.loader.render);
  };
  const int num_scales = sampler.num_scales();
  const int64_t jobs = static_cast<int64_t>(ds.num_images()) * num_scales;
  std::future<absl::StatusOr<ScaledView>> next =
      std::async(std::launch::async, render, 0, 0);
  std::vector<std::vector<data::ScoredBox>> per_scale(num_scales);
  for (int64_t job = 0; job < jobs; ++job) {
    const size_t i = job / num_scales;
    const int s = static_cast<int>(job % num_scales);
    ASSIGN_OR_RETURN(ScaledView w, next.get());
    if (job + 1 < jobs) {
      next = std::async(std::launch::async, render, (job + 1) / num_scales,
                        static_cast<int>((job + 1) % num_scales));
    }
    const models::Detections dets =
        DetectOn(model, w.pixels,
                 {{static_cast<double>(w.at.scaled_height),
                   static_cast<double>(w.at.scaled_width)}},
                 ctx.device, ctx.autocast)[0];
    torch::Tensor boxes = (dets.boxes / w.at.scale).contiguous();
    torch::Tensor scores = dets.scores.contiguous();
    per_scale[s].clear();
    for (int64_t k = 0; k < boxes.size(0); ++k) {
      const float* b = boxes.data_ptr<float>() + 4 * k;
      per_scale[s].push_back(
          {{b[0], b[1], b[2], b[3]}, scores.data_ptr<float>()[k]});
    }
    summary.proposals += boxes.size(0);
    if (s == num_scales - 1) {
      set.Set(ds.image(i).id, per_scale);
      ++summary.images;
      if ((i + 1) % 50 == 0 || i + 1 == ds.num_images()) {
        const double dt = Seconds(start);
        ctx.log.Progress(absl::StrFormat(
            "[proposals] %d/%d images  %.2f images/s  ETA %s", i + 1,
            ds.num_images(), (i + 1) / dt,
            FormatDuration(dt / (i + 1) * (ds.num_images() - i - 1))));
      }
    }
  }
  RETURN_IF_ERROR(data::WriteProposals(p.proposals_file, set));
  if (ctx.dist != nullptr) RETURN_IF_ERROR(ctx.dist->Announce("proposals"));
  summary.seconds = Seconds(start);
  ctx.log.Line(absl::StrFormat(
      "[proposals] %d images x %d scales, %d proposals in %s -> %s",
      summary.images, num_scales, summary.proposals,
      FormatDuration(summary.seconds), p.proposals_file));
  return summary;
}

absl::Status DrawDetections(const Context& ctx, size_t image_index,
                            const std::vector<evaluation::Detection>& dets,
                            const std::string& path) {
  const data::CocoDataset& ds = ctx.data.val;
  const data::CocoImage& im = ds.image(image_index);
  data::DecodeRequest request;
  request.reduce = false;
  ASSIGN_OR_RETURN(
      data::DecodedRegion region,
      data::DecodeImageFileRegion(
          absl::StrCat(ctx.data.val_images, "/", im.file_name), request));
  data::RgbImage image = std::move(region.image);
  const float threshold = ctx.p.config.eval().draw_score_threshold();
  // Ground truth thin and white, detections thick in their class colour.
  for (const data::BoxXYWH& b : ds.boxes_of(image_index)) {
    DrawRect(&image, static_cast<int>(b.x), static_cast<int>(b.y),
             static_cast<int>(b.x + b.w), static_cast<int>(b.y + b.h),
             {255, 255, 255}, 1);
  }
  std::vector<LabeledBox> boxes;
  for (const evaluation::Detection& d : dets) {
    boxes.push_back({static_cast<float>(d.x), static_cast<float>(d.y),
                     static_cast<float>(d.x + d.w),
                     static_cast<float>(d.y + d.h), static_cast<float>(d.score),
                     ds.LabelOfCategory(d.category_id)});
  }
  std::vector<std::string> names;
  for (const data::CocoCategory& c : ds.categories()) names.push_back(c.name);
  const int drawn = DrawLabeledBoxes(&image, boxes, names, threshold);
  RETURN_IF_ERROR(data::WritePngFile(path, image));
  ctx.log.Line(absl::StrCat("[eval] ", drawn,
                            " detections (score >= ", threshold, ") of ",
                            im.file_name, " drawn to ", path));
  return absl::OkStatus();
}

absl::StatusOr<StageSummary> Evaluate(Context& ctx) {
  const Pipeline& p = ctx.p;
  StageSummary summary;
  summary.stage = Stage::kEval;
  if (ctx.dist != nullptr && ctx.dist->rank() != 0) {
    summary.skipped = true;  // rank 0 evaluates
    return summary;
  }
  ASSIGN_OR_RETURN(models::FasterRcnn model,
                   LoadFinal(ctx, Stage::kDetector, p.model));
  MultiScaleDetector detector(std::move(model), p.eval, p.loader.render,
                              ctx.device, ctx.autocast);
  const data::CocoDataset& ds = ctx.data.val;
  const Clock::time_point start = Clock::now();
  // Decode and resample the next batch of images while the network runs on
  // this one.
  const size_t n = ds.num_images();
  const size_t batch = static_cast<size_t>(p.eval.batch_size);
  auto prepare =
      [&](size_t first) -> absl::StatusOr<std::vector<PreparedImage>> {
    std::vector<PreparedImage> out;
    for (size_t i = first; i < std::min(first + batch, n); ++i) {
      ASSIGN_OR_RETURN(PreparedImage views,
                       detector.Prepare(ds, ctx.data.val_images, i));
      out.push_back(std::move(views));
    }
    return out;
  };
  std::future<absl::StatusOr<std::vector<PreparedImage>>> next =
      std::async(std::launch::async, prepare, 0);
  std::vector<evaluation::Detection> all;
  for (size_t first_image = 0; first_image < n; first_image += batch) {
    ASSIGN_OR_RETURN(std::vector<PreparedImage> prepared, next.get());
    if (first_image + batch < n) {
      next = std::async(std::launch::async, prepare, first_image + batch);
    }
    std::vector<const PreparedImage*> pointers;
    for (const PreparedImage& im : prepared) pointers.push_back(&im);
    const std::vector<ImageDetections> results = detector.RunBatch(pointers);
    for (size_t j = 0; j < results.size(); ++j) {
      const size_t i = first_image + j;
      const ImageDetections& d = results[j];
      const size_t first = all.size();
      for (int64_t k = 0; k < d.boxes.size(0); ++k) {
        const float* bb = d.boxes.data_ptr<float>() + 4 * k;
        evaluation::Detection det;
        det.image_id = ds.image(i).id;
        det.category_id = ds.categories()[d.labels.data_ptr<int64_t>()[k]].id;
        det.x = bb[0];
        det.y = bb[1];
        det.w = bb[2] - bb[0];
        det.h = bb[3] - bb[1];
        det.score = d.scores.data_ptr<float>()[k];
        all.push_back(det);
      }
      ++summary.images;
      if (i == 0 && p.config.eval().draw_example()) {
        RETURN_IF_ERROR(DrawDetections(ctx, 0, {all.begin() + first, all.end()},
                                       p.work_dir + "/detections.png"));
      }
      if ((i + 1) % 25 == 0 || i + 1 == n) {
        const double dt = Seconds(start);
        ctx.log.Progress(absl::StrFormat("[eval] %d/%d images  %.2f images/s",
                                         i + 1, n, (i + 1) / dt));
      }
    }
  }
  summary.seconds = Seconds(start);
  // The ground truth as the reference API reads it (raw boxes, the area
  // field), restricted to the images evaluated.
  ASSIGN_OR_RETURN(evaluation::EvalGroundTruth gt,
                   evaluation::ReadGroundTruthJson(ctx.data.val_json));
  if (gt.image_ids.size() != ds.num_images()) {
    std::set<int64_t> kept;
    for (const data::CocoImage& im : ds.images()) kept.insert(im.id);
    gt.image_ids.assign(kept.begin(), kept.end());
    std::vector<evaluation::GtBox> boxes;
    for (const evaluation::GtBox& b : gt.boxes) {
      if (kept.count(b.image_id)) boxes.push_back(b);
    }
    gt.boxes = std::move(boxes);
  }
  ASSIGN_OR_RETURN(evaluation::CocoEvalResult result,
                   evaluation::EvaluateBoxes(gt, all));
  summary.coco_stats.assign(result.stats.begin(), result.stats.end());
  RETURN_IF_ERROR(
      evaluation::WriteResultsJson(p.work_dir + "/detections_val.json", all));
  std::string json = "{\"stats\": [";
  for (int k = 0; k < 12; ++k) {
    absl::StrAppendFormat(&json, "%s%.17g", k ? ", " : "", result.stats[k]);
  }
  json += "], \"per_category_ap\": {";
  for (size_t k = 0; k < result.per_category_ap.size(); ++k) {
    const int label = ds.LabelOfCategory(result.per_category_ap[k].first);
    absl::StrAppendFormat(&json, "%s\"%s\": %.17g", k ? ", " : "",
                          ds.categories()[label].name,
                          result.per_category_ap[k].second);
  }
  json += "}}\n";
  RETURN_IF_ERROR(WriteFileAtomically(p.work_dir + "/eval_stats.json", json));
  ctx.log.Line(absl::StrFormat(
      "[eval] %d images, %d detections in %s (%.2f images/s); COCO box "
      "metrics on the validation split:",
      summary.images, all.size(), FormatDuration(summary.seconds),
      summary.images / std::max(summary.seconds, 1e-9)));
  std::string table = evaluation::FormatCocoStats(result.stats);
  if (!table.empty() && table.back() == '\n') table.pop_back();
  ctx.log.Line(table);
  std::string per_cat = "[eval] AP per category:";
  for (const auto& [id, ap] : result.per_category_ap) {
    absl::StrAppendFormat(&per_cat, "  %s %.3f",
                          ds.categories()[ds.LabelOfCategory(id)].name, ap);
  }
  ctx.log.Line(per_cat);
  if (ctx.events != nullptr) {
    static constexpr const char* kNames[12] = {"AP",    "AP50", "AP75", "APs",
                                               "APm",   "APl",  "AR1",  "AR10",
                                               "AR100", "ARs",  "ARm",  "ARl"};
    for (int k = 0; k < 12; ++k) {
      RETURN_IF_ERROR(ctx.events->AddScalar(absl::StrCat("eval/", kNames[k]), 0,
                                            result.stats[k]));
    }
  }
  return summary;
}

absl::Status WriteLossCurve(const Context& ctx) {
  std::vector<data::RgbImage> panels;
  for (const auto& [stage, history] : ctx.histories) {
    if (history.empty()) continue;
    const bool rpn = stage == Stage::kRpn;
    std::vector<Series> series;
    series.push_back({"TOTAL", {0, 0, 0}, {}});
    for (int k = 0; k < (rpn ? 2 : 4); ++k) {
      series.push_back({kLossNames[k], PaletteColor(k), {}});
    }
    for (const auto& row : history) {
      for (size_t k = 0; k < series.size(); ++k) {
        series[k].points.push_back({row[0], row[k + 1]});
      }
    }
    panels.push_back(PlotSeries(
        absl::StrCat(StageName(stage), rpn ? " stage: short-schedule RPN loss"
                                           : " stage: detector loss"),
        "STEP", series, 1000, 420, /*log_y=*/true));
  }
  if (panels.empty()) return absl::OkStatus();
  const std::string path = ctx.p.work_dir + "/loss_curve.png";
  RETURN_IF_ERROR(data::WritePngFile(path, StackVertically(panels)));
  ctx.log.Line(absl::StrCat("Loss curve: ", path));
  return absl::OkStatus();
}

// Removes what a run (or one stage of it) wrote in the work directory, for
// --overwrite.
absl::Status ClearOutputs(const Pipeline& p, std::optional<Stage> only) {
  std::error_code ec;
  auto clearing = [&](Stage s) { return !only.has_value() || *only == s; };
  for (Stage s : {Stage::kRpn, Stage::kDetector}) {
    if (clearing(s)) fs::remove_all(StageDir(p, s), ec);
  }
  if (clearing(Stage::kProposals) &&
      p.config.negatives().source() == NegativeChipConfig::RPN) {
    fs::remove(p.proposals_file, ec);
  }
  if (clearing(Stage::kEval)) {
    for (const char* name :
         {"detections.png", "detections_val.json", "eval_stats.json"}) {
      fs::remove(absl::StrCat(p.work_dir, "/", name), ec);
    }
  }
  if (only.has_value()) return absl::OkStatus();
  for (const char* name :
       {"train.log", "metrics.csv", "loss_curve.png", "config.pbtxt"}) {
    fs::remove(absl::StrCat(p.work_dir, "/", name), ec);
  }
  for (const auto& e : fs::directory_iterator(p.work_dir, ec)) {
    if (absl::StartsWith(e.path().filename().string(),
                         "events.out.tfevents.")) {
      fs::remove(e.path(), ec);
    }
  }
  return absl::OkStatus();
}

// Whether the training stages to run (all, or `only`) have checkpoints.
bool HoldsRun(const Pipeline& p, std::optional<Stage> only) {
  for (Stage s : {Stage::kRpn, Stage::kDetector}) {
    if (only.has_value() && *only != s) continue;
    const std::string dir = StageDir(p, s);
    if (fs::exists(dir + "/final.pt") || !ListCheckpoints(dir).empty()) {
      return true;
    }
  }
  return false;
}

CommBackendRequest BackendRequest(DistributedConfig::Backend backend) {
  switch (backend) {
    case DistributedConfig::GLOO:
      return CommBackendRequest::kGloo;
    case DistributedConfig::NCCL:
      return CommBackendRequest::kNccl;
    default:
      return CommBackendRequest::kAuto;
  }
}

}  // namespace

absl::StatusOr<RunSummary> RunPipeline(const Pipeline& p,
                                       const RunOptions& options) {
  ASSIGN_OR_RETURN(const DistributedEnv env, DistributedEnvFromEnvironment());
  ASSIGN_OR_RETURN(const torch::Device device,
                   ResolveDevice(p.config, env.local_rank));
  // This process's GPU is the current device (cuDNN handles, NCCL, new
  // tensors without a device) for the whole run.
  std::optional<c10::DeviceGuard> device_guard;
  if (device.is_cuda()) device_guard.emplace(device);
  std::unique_ptr<Distributed> dist;
  if (env.launched) {
    const bool gpu_per_process =
        device.is_cuda() && !absl::StartsWith(p.config.device(), "cuda:") &&
        env.local_world_size <= static_cast<int>(torch::cuda::device_count());
    ASSIGN_OR_RETURN(
        const CommBackend backend,
        ResolveCommBackend(BackendRequest(p.config.distributed().backend()),
                           device, gpu_per_process));
    ASSIGN_OR_RETURN(
        dist, Distributed::Connect(
                  env, std::chrono::seconds(p.config.distributed().timeout_s()),
                  backend, device));
  }
  const bool leader = env.rank == 0;
  std::error_code ec;
  fs::create_directories(p.work_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create work directory ",
                                            p.work_dir, ": ", ec.message()));
  }
  if (!leader) {
    // Rank 0 checks and prepares the work directory and the data first.
    RETURN_IF_ERROR(dist->WaitFor(
        "setup", std::chrono::seconds(p.config.distributed().timeout_s()) +
                     std::chrono::hours(1)));
  } else if (options.overwrite) {
    RETURN_IF_ERROR(ClearOutputs(p, options.only_stage));
  } else if (!options.resume && HoldsRun(p, options.only_stage)) {
    return absl::AlreadyExistsError(absl::StrCat(
        p.work_dir,
        " holds checkpoints of an earlier run: pass --resume to continue "
        "it or --overwrite to start over"));
  }
  const bool trains = !options.only_stage.has_value() ||
                      *options.only_stage == Stage::kRpn ||
                      *options.only_stage == Stage::kDetector;
  if (trains && leader) {
    RETURN_IF_ERROR(WriteTextProtoFile(p.work_dir + "/config.pbtxt", p.config));
  }
  // Only rank 0 logs (the others' errors come back as their status).
  RunLog log(leader ? p.work_dir + "/train.log" : std::string(),
             options.progress && leader, /*echo=*/leader);
  // Cores shared by the processes on this machine.
  const int hw =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                      env.local_world_size);
  const int threads = p.config.threads() > 0
                          ? p.config.threads()
                          : std::max(1, hw - std::max(0, p.loader.threads - 1));
  at::set_num_threads(threads);
  ASSIGN_OR_RETURN(const std::optional<c10::ScalarType> autocast,
                   AutocastType(p.config.precision(), device));
  log.Line(absl::StrCat(
      "SNIPER run '", p.config.name(), "' in ", p.work_dir, " on ",
      device.str(), ", ", PipelineConfig::Precision_Name(p.config.precision()),
      " (", threads, " compute threads, ", p.loader.threads, " loader threads",
      dist != nullptr ? absl::StrCat("; ", env.world_size, " processes, ",
                                     CommBackendName(dist->backend()))
                      : std::string(),
      ")"));

  ASSIGN_OR_RETURN(Datasets data, LoadDatasets(p, log));
  if (dist != nullptr && leader) RETURN_IF_ERROR(dist->Announce("setup"));
  Context ctx{p,        options, log,     data, device,
              autocast, nullptr, nullptr, {},   nullptr};
  ctx.dist = dist.get();
  const std::string metrics_path = p.work_dir + "/metrics.csv";
  const bool new_metrics = !fs::exists(metrics_path);
  if (leader) {
    ASSIGN_OR_RETURN(ctx.events, EventWriter::Create(p.work_dir));
    ctx.metrics = std::fopen(metrics_path.c_str(), "a");
  }
  if (ctx.metrics != nullptr && new_metrics) {
    std::fprintf(ctx.metrics,
                 "stage,step,epoch,lr,loss,rpn_cls,rpn_box,rcnn_cls,rcnn_box,"
                 "chips_per_s,images_per_s\n");
  }
  struct CloseMetrics {
    std::FILE* f;
    ~CloseMetrics() {
      if (f != nullptr) std::fclose(f);
    }
  } close_metrics{ctx.metrics};

  RunSummary run;
  run.work_dir = p.work_dir;
  std::optional<data::ProposalSet> proposals;
  for (Stage stage : p.stages) {
    if (options.only_stage.has_value() && *options.only_stage != stage) {
      continue;
    }
    StageSummary s;
    switch (stage) {
      case Stage::kRpn: {
        ASSIGN_OR_RETURN(s, Train(ctx, stage, nullptr));
        break;
      }
      case Stage::kProposals: {
        ASSIGN_OR_RETURN(s, WriteProposalsStage(ctx));
        break;
      }
      case Stage::kDetector: {
        if (!p.proposals_file.empty()) {
          ASSIGN_OR_RETURN(proposals, data::ReadProposals(p.proposals_file));
          if (proposals->num_scales() !=
              static_cast<int>(p.sampler.scales.size())) {
            return absl::InvalidArgumentError(absl::StrCat(
                p.proposals_file, " has ", proposals->num_scales(),
                " scales but the sampler has ", p.sampler.scales.size()));
          }
        }
        ASSIGN_OR_RETURN(
            s,
            Train(ctx, stage, proposals.has_value() ? &*proposals : nullptr));
        break;
      }
      case Stage::kEval: {
        ASSIGN_OR_RETURN(s, Evaluate(ctx));
        break;
      }
    }
    run.stages.push_back(s);
    if (s.interrupted) break;
  }
  if (leader && (run.stages.empty() || !run.stages.back().interrupted)) {
    RETURN_IF_ERROR(WriteLossCurve(ctx));
  }
  return run;
}

}  // namespace sniper
