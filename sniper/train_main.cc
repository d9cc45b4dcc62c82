// bazel run //sniper:train [-- --config=FILE --set=path=value ...]
//
// Trains SNIPER end to end: the short-schedule RPN, its proposals (negative
// chips), the detector on positive + negative chips, and the COCO-style
// evaluation. With no flags it trains the embedded default
// (configs/default_synthetic.pbtxt) on the synthetic multi-scale dataset,
// generated on first use into ~/.cache/sniper-cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "port/main_guard.h"
#include "sniper/cli.h"
#include "sniper/config.h"
#include "sniper/loss_curve.h"
#include "sniper/stop_signals.h"
#include "sniper/trainer.h"

ABSL_FLAG(std::string, config, "",
          "PipelineConfig text file layered over the embedded default "
          "(configs/*.pbtxt)");
ABSL_FLAG(std::string, stage, "",
          "run only this stage: rpn, proposals, detector or eval");
ABSL_FLAG(bool, resume, false,
          "continue the run in the work directory from its latest "
          "checkpoints (finished stages are skipped)");
ABSL_FLAG(bool, overwrite, false,
          "start over in a work directory that holds an earlier run");
ABSL_FLAG(std::string, work_dir, "", "shortcut for --set output.work_dir=...");
ABSL_FLAG(bool, print_config, false,
          "print the merged, validated config and exit");
ABSL_FLAG(bool, quiet, false, "no progress lines (train.log still has them)");
ABSL_FLAG(int, nproc, 1,
          "data-parallel processes to start on this machine (each gets RANK, "
          "WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, MASTER_PORT); a "
          "failing one makes the others stop (distributed.timeout_s)");

namespace {

constexpr char kUsage[] =
    "Trains SNIPER (RPN, proposals, detector, evaluation).\n"
    "  bazel run //sniper:train                       # the embedded default\n"
    "  bazel run //sniper:train -- --config=configs/coco_sniper_r50.pbtxt\n"
    "  bazel run //sniper:train -- --set optimizer.base_lr=0.01 \\\n"
    "      --set 'schedule.decay_epochs=[4, 6]' --resume\n"
    "--set path=value may be repeated; lists are [a, b], messages {...}.";

// Waits for every rank. Once one has failed, the others get
// kGraceSeconds to stop by themselves (they do, at their next collective
// or after distributed.timeout_s) before they are killed, so a hung rank
// cannot keep the launcher waiting forever. 0 when every rank succeeded.
int WaitForRanks(const std::vector<pid_t>& pids) {
  constexpr int kGraceSeconds = 60;
  int failed = 0, stopped = 0;
  size_t done = 0;
  std::vector<bool> running(pids.size(), true);
  auto first_failure = std::chrono::steady_clock::time_point::max();
  while (done < pids.size()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (std::chrono::steady_clock::now() - first_failure >
          std::chrono::seconds(kGraceSeconds)) {
        for (size_t r = 0; r < pids.size(); ++r) {
          if (running[r]) kill(pids[r], SIGKILL);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const size_t r = static_cast<size_t>(
        std::find(pids.begin(), pids.end(), pid) - pids.begin());
    if (r >= pids.size()) continue;
    running[r] = false;
    ++done;
    if (WIFEXITED(status) && WEXITSTATUS(status) == sniper::kStoppedExitCode) {
      ++stopped;  // a requested stop, after a checkpoint: not a failure
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
      first_failure = std::min(first_failure, std::chrono::steady_clock::now());
      std::fprintf(
          stderr, "rank %zu (pid %d) %s %d\n", r, pid,
          WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
  }
  return failed > 0 ? 1 : stopped > 0 ? sniper::kStoppedExitCode : 0;
}

// The ranks --nproc started, for the launcher's signal handler.
constexpr int kMaxLocalRanks = 256;
pid_t g_ranks[kMaxLocalRanks];
int g_num_ranks = 0;

// The launcher passes a stop signal sent to it by a process (a scheduler,
// `kill`) on to its ranks; one from the terminal (Ctrl-C) reaches them
// directly, through the process group.
void ForwardStopSignal(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code != SI_USER &&
      info->si_code != SI_QUEUE) {
    return;
  }
  for (int r = 0; r < g_num_ranks; ++r) kill(g_ranks[r], sig);
}

// A free loopback port for the rendezvous, or 0.
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && !bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) &&
      !getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

// Starts `n` copies of this binary with the same arguments as ranks
// 0..n-1 on a free loopback port and waits for them. Returns the exit
// status: 0 when every rank succeeded.
int LaunchLocal(int n, char** argv) {
  const int port = FreeLoopbackPort();
  if (port == 0) {
    std::fprintf(stderr, "error: no free port for the rendezvous\n");
    return 1;
  }
  if (n > kMaxLocalRanks) {
    std::fprintf(stderr, "error: --nproc=%d: at most %d processes\n", n,
                 kMaxLocalRanks);
    return 1;
  }
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(n).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      execv("/proc/self/exe", argv);
      std::perror("execv");
      _exit(127);
    }
    pids.push_back(pid);
    g_ranks[g_num_ranks++] = pid;
  }
  struct sigaction sa = {};
  sa.sa_sigaction = ForwardStopSignal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
  return WaitForRanks(pids);
}

// The stage of `pipeline` called `name` (--stage).
absl::StatusOr<sniper::Stage> StageNamed(const std::string& name,
                                         const sniper::Pipeline& pipeline) {
  std::string names;
  for (sniper::Stage s : pipeline.stages) {
    if (name == sniper::StageName(s)) return s;
    absl::StrAppend(&names, names.empty() ? "" : ", ", sniper::StageName(s));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--stage=", name, ": this config's stages are ", names));
}

// What a run stopped by a signal says: where, and how to continue.
std::string StoppedLine(const sniper::RunSummary& run) {
  std::string where = "between stages";
  if (!run.stages.empty() && run.stages.back().interrupted) {
    const sniper::StageSummary& s = run.stages.back();
    where =
        absl::StrCat("after step ", s.steps, " of the ",
                     sniper::StageName(s.stage), " stage, checkpoint written");
  }
  return absl::StrCat("stopped by ", sniper::StopSignalName(run.stop_signal),
                      " ", where, " (exit ", sniper::kStoppedExitCode,
                      "): run the same command with --resume to continue in ",
                      run.work_dir);
}

// The finished run's loss curve and COCO tables (rank 0).
int Report(const sniper::RunSummary& run) {
  if (run.stages.empty() || !run.stages.back().interrupted) {
    const std::string path = run.work_dir + "/loss_curve.png";
    absl::StatusOr<bool> drawn = sniper::WriteLossCurve(path, run.losses);
    if (!drawn.ok()) return sniper::FailWith(drawn.status());
    if (*drawn) std::printf("Loss curve: %s\n", path.c_str());
  }
  for (const sniper::StageSummary& s : run.stages) {
    if (s.stage != sniper::Stage::kEval) continue;
    sniper::PrintCocoSummaries(s.coco_stats, s.mask_stats);
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<char*> original(argv, argv + argc);  // for --nproc's children
  original.push_back(nullptr);
  std::vector<std::string> sets = sniper::InitCli(&argc, argv, kUsage);

  absl::StatusOr<sniper::Pipeline> pipeline = sniper::PipelineFromLayers(
      absl::GetFlag(FLAGS_config), sets, absl::GetFlag(FLAGS_work_dir));
  if (!pipeline.ok()) return sniper::FailWith(pipeline.status());
  if (absl::GetFlag(FLAGS_nproc) > 1 && std::getenv("RANK") == nullptr) {
    return LaunchLocal(absl::GetFlag(FLAGS_nproc), original.data());
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(pipeline->config, &text);
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  sniper::RunOptions options;
  options.resume = absl::GetFlag(FLAGS_resume);
  options.overwrite = absl::GetFlag(FLAGS_overwrite);
  options.progress = !absl::GetFlag(FLAGS_quiet);
  if (const std::string stage = absl::GetFlag(FLAGS_stage); !stage.empty()) {
    absl::StatusOr<sniper::Stage> s = StageNamed(stage, *pipeline);
    if (!s.ok()) return sniper::FailWith(s.status());
    options.only_stage = *s;
  }
  // Preemption: the first SIGTERM/SIGINT/SIGUSR1 stops after the current
  // step with a checkpoint; a second one at once.
  sniper::InstallStopSignals();
  absl::StatusOr<sniper::RunSummary> run =
      sniper::RunPipeline(*pipeline, options);
  if (!run.ok()) return sniper::FailWith(run.status());
  const char* rank = std::getenv("RANK");
  const bool leader = rank == nullptr || std::string(rank) == "0";
  if (run->stop_signal != 0) {
    if (leader) std::fprintf(stderr, "%s\n", StoppedLine(*run).c_str());
    return sniper::kStoppedExitCode;
  }
  if (!leader) return 0;  // rank 0 reports
  if (const int rc = Report(*run); rc != 0) return rc;
  std::printf(
      "Outputs in %s: checkpoints (rpn/, detector/), train.log, "
      "metrics.csv, TensorBoard events (tensorboard --logdir %s), "
      "loss_curve.png, detections.png\n",
      run->work_dir.c_str(), run->work_dir.c_str());
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
