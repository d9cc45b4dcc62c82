#include "sniper/trainer.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/chip_loader.h"
#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/image_io.h"
#include "data/proposals.h"
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
#include "sniper/eval_stage.h"
#include "sniper/event_writer.h"
#include "sniper/loss_scaler.h"
#include "sniper/optimizer.h"
#include "sniper/plot.h"
#include "sniper/proposals_stage.h"
#include "sniper/stage.h"
#include "sniper/train_step.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// The run.

// The stages' context plus what the training stages write.
struct Context : StageContext {
  std::FILE* metrics = nullptr;
  std::map<Stage, LossHistory> histories;
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
  TrainStep step(model, optimizer,
                 {ctx.device, ctx.autocast, oc.clip_grad_norm()},
                 fp16 ? &scaler : nullptr, ctx.dist, reducer.get());
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
    ASSIGN_OR_RETURN(
        CheckpointState l,
        LoadCheckpoint(existing.back().second, model, &optimizer, ctx.device));
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
    // A diverged step (non-finite loss or gradient, or an op refusing
    // non-finite input) is skipped and counted; with several processes every
    // rank skips when any rank must.
    ASSIGN_OR_RETURN(
        const StepOutcome outcome,
        step.Run(images, targets, StepSeed(c.seed(), stage, pos.step),
                 static_cast<int64_t>(rank) * batch_size,
                 absl::StrCat("[", StageName(stage), "] step ", pos.step + 1)));
    const std::array<double, 5>& values = outcome.losses;
    switch (outcome.result) {
      case StepResult::kNonFinite:
        ++counters.nonfinite;
        ++nonfinite_in_a_row;
        ctx.log.Line(absl::StrCat(
            "[", StageName(stage), "] step ", pos.step + 1, ": non-finite ",
            outcome.why, "; step skipped (", nonfinite_in_a_row, " in a row)"));
        if (nonfinite_in_a_row >= oc.max_nonfinite_steps_in_a_row()) {
          return absl::AbortedError(absl::StrCat(
              "[", StageName(stage), "] ", nonfinite_in_a_row,
              " non-finite steps in a row at step ", pos.step + 1,
              " (optimizer.max_nonfinite_steps_in_a_row = ",
              oc.max_nonfinite_steps_in_a_row(),
              "): lower optimizer.base_lr, raise schedule.warmup_steps or set "
              "optimizer.clip_grad_norm"));
        }
        break;
      case StepResult::kFp16Overflow:
        ++counters.fp16_overflows;
        break;
      case StepResult::kApplied:
        nonfinite_in_a_row = 0;
        for (int k = 0; k < 5; ++k) window_loss[k] += values[k];
        ++window_finite;
        break;
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
  RETURN_IF_ERROR(CreateWorkDir(p.work_dir));
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
  const int threads = SetComputeThreads(p, env.local_world_size);
  ASSIGN_OR_RETURN(const std::optional<c10::ScalarType> autocast,
                   AutocastType(p.config.precision(), device));
  log.Line(RunHeader("run", p, device, threads,
                     dist != nullptr
                         ? absl::StrCat("; ", env.world_size, " processes, ",
                                        CommBackendName(dist->backend()))
                         : std::string()));

  ASSIGN_OR_RETURN(Datasets data, LoadDatasets(p, log));
  if (dist != nullptr && leader) RETURN_IF_ERROR(dist->Announce("setup"));
  Context ctx{{p, options, log, data, device, autocast}, nullptr, {}};
  ctx.dist = dist.get();
  ctx.rank = env.rank;
  const std::string metrics_path = p.work_dir + "/metrics.csv";
  const bool new_metrics = !fs::exists(metrics_path);
  std::unique_ptr<EventWriter> events;
  if (leader) {
    ASSIGN_OR_RETURN(events, EventWriter::Create(p.work_dir));
    ctx.events = events.get();
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
        ASSIGN_OR_RETURN(s, RunProposalsStage(ctx));
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
        ASSIGN_OR_RETURN(s, RunEvalStage(ctx));
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
