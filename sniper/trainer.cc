#include "sniper/trainer.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "data/chip_sampler.h"
#include "data/proposals.h"
#include "google/protobuf/util/message_differencer.h"
#include "port/peak_memory.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/checkpoint.h"
#include "sniper/device.h"
#include "sniper/distributed.h"
#include "sniper/eval_stage.h"
#include "sniper/event_writer.h"
#include "sniper/metrics.h"
#include "sniper/proposals_stage.h"
#include "sniper/stage.h"
#include "sniper/stop_signals.h"
#include "sniper/training_stage.h"
#include "sniper/work_dir_lock.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;

// The training stages' loss histories, in stage order, for the loss curve.
std::vector<StageLosses> LossesOf(const Pipeline& p,
                                  const LossHistorySink& sink) {
  std::vector<StageLosses> out;
  for (Stage stage : p.stages) {
    if (stage != Stage::kRpn && stage != Stage::kDetector) continue;
    const LossHistory& history = sink.history(StageName(stage));
    if (history.empty()) continue;
    out.push_back({LossPanelTitle(StageName(stage)), history});
  }
  return out;
}

// A training stage's checkpoint directory.
const std::string& TrainingDir(const Pipeline& p, Stage stage) {
  return stage == Stage::kRpn ? p.rpn_stage.dir : p.detector_stage.dir;
}

// Removes what a run (or one stage of it) wrote in the work directory, for
// --overwrite.
absl::Status ClearOutputs(const Pipeline& p, std::optional<Stage> only) {
  std::error_code ec;
  auto clearing = [&](Stage s) { return !only.has_value() || *only == s; };
  for (Stage s : {Stage::kRpn, Stage::kDetector}) {
    if (clearing(s)) fs::remove_all(TrainingDir(p, s), ec);
  }
  if (clearing(Stage::kProposals) &&
      p.config.negatives().source() == NegativeChipConfig::RPN) {
    fs::remove(p.proposals_file, ec);
  }
  for (Stage s : p.stages) {
    if (clearing(s)) fs::remove(StageSummaryPath(p.work_dir, s), ec);
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
    const std::string& dir = TrainingDir(p, s);
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

// Joins the process group when a launcher started this process (null
// otherwise).
absl::StatusOr<std::unique_ptr<Distributed>> ConnectIfLaunched(
    const Pipeline& p, const DistributedEnv& env, torch::Device device) {
  if (!env.launched) return std::unique_ptr<Distributed>();
  const bool gpu_per_process =
      device.is_cuda() && !absl::StartsWith(p.config.device(), "cuda:") &&
      env.local_world_size <= static_cast<int>(torch::cuda::device_count());
  ASSIGN_OR_RETURN(
      const CommBackend backend,
      ResolveCommBackend(BackendRequest(p.config.distributed().backend()),
                         device, gpu_per_process));
  return Distributed::Connect(
      env, std::chrono::seconds(p.config.distributed().timeout_s()), backend,
      device);
}

// Whether an earlier run's checkpoints in the work directory continue
// without --resume: when torchrun restarted the worker group
// (TORCHELASTIC_RESTART_COUNT > 0) or the run has this very config (its
// config.pbtxt). `why` says why, or what differs.
struct Continuation {
  bool ok = false;
  std::string why;
};
Continuation CanContinue(const Pipeline& p) {
  if (const char* c = std::getenv("TORCHELASTIC_RESTART_COUNT");
      c != nullptr && std::atoi(c) > 0) {
    return {true,
            absl::StrCat("torchrun restarted the workers (restart ", c, ")")};
  }
  const std::string path = p.work_dir + "/config.pbtxt";
  PipelineConfig saved;
  if (!ReadTextProtoFile(path, &saved).ok()) {
    return {false, absl::StrCat(path, " is missing or unreadable")};
  }
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  if (differ.Compare(saved, p.config)) {
    return {true, absl::StrCat("the same config as its ", path)};
  }
  std::string first = diff.substr(0, diff.find('\n'));
  if (first.size() > 160) first = first.substr(0, 157) + "...";
  return {false, absl::StrCat("another config than its ", path, ": ", first)};
}

// The work directory (created; its lock is held): rank 0 clears it
// (--overwrite), continues an earlier run's checkpoints (--resume, or
// CanContinue) or refuses them, and writes config.pbtxt for a training
// run; the other ranks wait until rank 0 is ready. Rank 0's answer:
// whether the run resumes, and the line that says why when not asked.
struct Preparation {
  bool resume = false;
  std::string note;
};
absl::StatusOr<Preparation> PrepareWorkDir(const Pipeline& p,
                                           const RunOptions& options,
                                           Distributed* dist, bool leader) {
  RETURN_IF_ERROR(CreateWorkDir(p.work_dir));
  Preparation out;
  if (!leader) {
    RETURN_IF_ERROR(dist->WaitFor(
        "setup", std::chrono::seconds(p.config.distributed().timeout_s()) +
                     std::chrono::hours(1)));
    return out;
  }
  out.resume = options.resume;
  if (options.overwrite) {
    RETURN_IF_ERROR(ClearOutputs(p, options.only_stage));
  } else if (!options.resume && HoldsRun(p, options.only_stage)) {
    const Continuation c = CanContinue(p);
    if (!c.ok) {
      return absl::AlreadyExistsError(absl::StrCat(
          p.work_dir, " holds checkpoints of an earlier run with ", c.why,
          "; pass --resume to continue it with this config or --overwrite "
          "to start over"));
    }
    out.resume = true;
    out.note = absl::StrCat(p.work_dir,
                            " holds checkpoints of an earlier run (", c.why,
                            "): continuing it as --resume would "
                            "(--overwrite starts over)");
  }
  const bool trains = !options.only_stage.has_value() ||
                      *options.only_stage == Stage::kRpn ||
                      *options.only_stage == Stage::kDetector;
  if (trains) {
    RETURN_IF_ERROR(WriteTextProtoFile(p.work_dir + "/config.pbtxt", p.config));
  }
  return out;
}

// Rank 0's `flag` on every rank (a sum to which only rank 0 adds).
absl::StatusOr<bool> LeadersFlag(Distributed* dist, bool leader, bool flag) {
  if (dist == nullptr) return flag;
  torch::Tensor t = torch::tensor({leader && flag ? 1.0 : 0.0});
  RETURN_IF_ERROR(dist->SumInPlace(t));
  return t.item<double>() > 0;
}

// What a killed run left mid-write (WriteFileAtomically's temporaries, up
// to a checkpoint's size each) in the work directory and the stage
// directories. Before the other ranks are let go, so nobody is writing.
void RemoveInterruptedWrites(const Pipeline& p, RunLog& log) {
  std::vector<std::string> dirs = {p.work_dir, p.work_dir + "/summary"};
  for (Stage stage : p.stages) {
    if (stage == Stage::kRpn || stage == Stage::kDetector) {
      dirs.push_back(TrainingDir(p, stage));
    }
  }
  for (const std::string& dir : dirs) {
    for (const std::string& path : RemoveStaleTempFiles(dir)) {
      log.Line(absl::StrCat("removed ", path,
                            " (a write interrupted by an earlier run's end)"));
    }
  }
}

// The run's metric sinks: the progress line everywhere (only rank 0's log
// prints), TensorBoard and metrics.csv on rank 0, and the loss history the
// checkpoints keep.
struct RunMetrics {
  LossHistorySink history;
  MetricsFanout sinks;
};

// The loss terms of the pipeline's training stages, each once, in the
// order the stages first name them (metrics.csv's loss columns).
std::vector<std::string> RunLossTerms(const Pipeline& p) {
  std::vector<std::string> terms;
  for (Stage stage : p.stages) {
    if (stage != Stage::kRpn && stage != Stage::kDetector) continue;
    const models::FasterRcnnOptions& model =
        stage == Stage::kRpn ? p.rpn_stage.model : p.detector_stage.model;
    for (const std::string& name : model.LossNames()) {
      if (std::find(terms.begin(), terms.end(), name) == terms.end()) {
        terms.push_back(name);
      }
    }
  }
  return terms;
}

absl::Status OpenMetrics(const Pipeline& p, const RunEnv& env, RunMetrics& m) {
  m.sinks.Add(std::make_unique<ProgressLineSink>(*env.log));
  if (env.events != nullptr) {
    m.sinks.Add(std::make_unique<TensorBoardSink>(*env.events));
    ASSIGN_OR_RETURN(
        std::unique_ptr<CsvMetricsSink> csv,
        CsvMetricsSink::Open(p.work_dir + "/metrics.csv", RunLossTerms(p)));
    m.sinks.Add(std::move(csv));
  }
  m.sinks.AddUnowned(&m.history);
  return absl::OkStatus();
}

// The proposals negative chips are mined from (none without a file).
absl::StatusOr<std::optional<data::ProposalSet>> DetectorProposals(
    const Pipeline& p, const data::CocoDataset& train) {
  if (p.proposals_file.empty()) return std::optional<data::ProposalSet>();
  ASSIGN_OR_RETURN(data::ProposalSet proposals,
                   data::ReadProposals(p.proposals_file));
  RETURN_IF_ERROR(data::ChipSampler(p.sampler).CheckProposals(
      proposals, p.proposals_file, train));
  return std::optional<data::ProposalSet>(std::move(proposals));
}

// Runs the pipeline's stages (or options.only_stage) in order; stops after
// an interrupted one.
absl::Status RunStages(const Pipeline& p, const RunOptions& options,
                       const Datasets& data, const RunEnv& env,
                       RunMetrics& metrics, RunSummary& run) {
  std::optional<data::ProposalSet> proposals;
  for (Stage stage : p.stages) {
    if (options.only_stage.has_value() && *options.only_stage != stage) {
      continue;
    }
    // A stop requested during a stage that does not checkpoint (proposals,
    // eval) or at a training stage's last step: before the next stage.
    ASSIGN_OR_RETURN(const int stop, AgreeOnStop(env));
    if (stop != 0) {
      run.stop_signal = stop;
      env.log->Line(absl::StrCat("stopped by ", StopSignalName(stop),
                                 " before the ", StageName(stage), " stage"));
      break;
    }
    StageSummary s;
    ResetPeakRss();
    switch (stage) {
      case Stage::kRpn:
      case Stage::kDetector: {
        TrainingStageOptions training =
            stage == Stage::kRpn ? p.rpn_stage : p.detector_stage;
        training.interrupt_after_step = options.interrupt_after_step;
        if (stage == Stage::kDetector) {
          ASSIGN_OR_RETURN(proposals, DetectorProposals(p, data.train));
        }
        ASSIGN_OR_RETURN(
            s, RunTrainingStage(training, data.train_split(),
                                proposals.has_value() ? &*proposals : nullptr,
                                metrics.sinks, metrics.history, env));
        break;
      }
      case Stage::kProposals: {
        ProposalsStageOptions o = p.proposals_stage;
        o.keep_existing = options.resume;
        ASSIGN_OR_RETURN(s, RunProposalsStage(o, data.train_split(), env));
        break;
      }
      case Stage::kEval: {
        EvalStageOptions o = p.eval_stage;
        if (!options.checkpoint.empty()) o.checkpoint = options.checkpoint;
        ASSIGN_OR_RETURN(s, RunEvalStage(o, data.val_split(), env));
        break;
      }
    }
    s.peak_rss_bytes = PeakRssBytes();
    if (env.rank() == 0 && !s.skipped && !s.interrupted) {
      RETURN_IF_ERROR(WriteStageSummary(p.work_dir, s));
    }
    run.stages.push_back(s);
    if (s.interrupted) {
      run.stop_signal = s.stop_signal;
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunSummary> RunPipeline(const Pipeline& p,
                                       const RunOptions& options) {
  ASSIGN_OR_RETURN(const DistributedEnv launch,
                   DistributedEnvFromEnvironment());
  ASSIGN_OR_RETURN(const torch::Device device,
                   ResolveDevice(p.config, launch.local_rank));
  // This process's GPU is the current device (cuDNN handles, NCCL, new
  // tensors without a device) for the whole run.
  RunSession session(device);
  const absl::Time join_start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<Distributed> dist,
                   ConnectIfLaunched(p, launch, device));
  const double join_s = absl::ToDoubleSeconds(absl::Now() - join_start);
  session.set_dist(dist.get());
  const bool leader = launch.rank == 0;
  // One run per work directory: rank 0 holds the lock for its group until
  // the run ends, taken before anything in the directory is touched.
  std::optional<WorkDirLock> lock;
  if (leader) {
    RETURN_IF_ERROR(CreateWorkDir(p.work_dir));
    ASSIGN_OR_RETURN(lock, WorkDirLock::Acquire(p.work_dir));
  }
  ASSIGN_OR_RETURN(const Preparation prepared,
                   PrepareWorkDir(p, options, dist.get(), leader));
  // Only rank 0 logs (the others' errors come back as their status) and
  // writes TensorBoard events.
  SessionOptions so;
  so.log_path = leader ? p.work_dir + "/train.log" : std::string();
  so.progress = options.progress && leader;
  so.echo = leader;
  so.processes_on_machine = launch.local_world_size;
  if (dist != nullptr) {
    so.header_extra =
        absl::StrCat("; ", launch.world_size, " processes, ",
                     CommBackendName(dist->backend()),
                     absl::StrFormat(", joined in %.2f s", join_s));
  }
  so.events = leader;
  RETURN_IF_ERROR(session.Start(p, so));
  RunLog& log = session.log();
  if (leader) RemoveInterruptedWrites(p, log);
  if (!prepared.note.empty()) log.Line(prepared.note);
  ASSIGN_OR_RETURN(const Datasets data, LoadDatasets(p.dataset, log));
  if (dist != nullptr && leader) RETURN_IF_ERROR(dist->Announce("setup"));
  // Every rank resumes as rank 0 decided (its proposals stage keeps the
  // file or waits for rank 0's).
  RunOptions run_options = options;
  ASSIGN_OR_RETURN(run_options.resume,
                   LeadersFlag(dist.get(), leader, prepared.resume));
  RunMetrics metrics;
  RETURN_IF_ERROR(OpenMetrics(p, session.env(), metrics));

  RunSummary run;
  run.work_dir = p.work_dir;
  RETURN_IF_ERROR(RunStages(p, run_options, data, session.env(), metrics, run));
  run.losses = LossesOf(p, metrics.history);
  return run;
}

}  // namespace sniper
