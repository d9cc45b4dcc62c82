// bazel run //tools:experiment --
// --matrix=configs/experiments/paper_miniature.pbtxt
//
// Trains every (variant, seed) cell of an experiment matrix
// (experiment/experiment.proto) with //sniper:train, each in its own
// work directory under experiments/<name>/<variant>/seed_<s>, one after
// another, then writes the matrix's table, JSON and picture there
// (results.md, results.json, results.png; experiment/report.h). Stopped at
// any point (Ctrl-C, a lost session), the same command continues: finished
// cells are skipped and the unfinished one resumes from its checkpoints.
// A matrix with a results_dir keeps every finished cell's result files
// (and results.md, results.png) in that folder of the repository: commit
// it, and the matrix carries on from a fresh clone on another machine.
// Progress lines give the running cell's latest line and the whole
// matrix's ETA.
//
//   --only=snip,sniper     run only these variants (the report covers all)
//   --report_only          write the report from the finished cells
//   --keep_going           a failed cell does not stop the others
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "experiment/matrix.h"
#include "experiment/report.h"
#include "experiment/runner.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/status_macros.h"

ABSL_FLAG(std::string, matrix, "", "the ExperimentMatrix text file");
ABSL_FLAG(std::string, work_dir, "",
          "where the cells go (default: the matrix's work_dir, else "
          "experiments/<name>)");
ABSL_FLAG(std::string, train_binary, "",
          "//sniper:train's binary (default: the one built beside this tool)");
ABSL_FLAG(std::vector<std::string>, only, {},
          "comma-separated variant names to run (default: all)");
ABSL_FLAG(bool, report_only, false, "write the report without training");
ABSL_FLAG(bool, keep_going, false, "go on after a failed cell");
ABSL_FLAG(double, heartbeat_s, 60, "seconds between progress lines");

namespace {

namespace fs = std::filesystem;

// The directory relative paths are taken against: the user's under
// `bazel run`, else this process's.
std::string UserDirectory() {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd != nullptr && *cwd != '\0') return cwd;
  char buf[PATH_MAX];
  return getcwd(buf, sizeof(buf)) != nullptr ? buf : ".";
}

// //sniper:train in this binary's runfiles (bazel run), else beside it in
// bazel-bin (bazel-bin/tools/experiment -> bazel-bin/sniper/train).
std::string DefaultTrainBinary(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* r = std::getenv("RUNFILES_DIR"); r != nullptr && *r) {
    candidates.push_back(absl::StrCat(r, "/sniper_cpp/sniper/train"));
  }
  candidates.push_back(
      absl::StrCat(argv0, ".runfiles/sniper_cpp/sniper/train"));
  candidates.push_back(
      (fs::path(argv0).parent_path() / ".." / "sniper" / "train").string());
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return fs::absolute(c).lexically_normal();
  }
  return candidates.back();
}

absl::Status Run(const char* argv0) {
  if (absl::GetFlag(FLAGS_matrix).empty()) {
    return absl::InvalidArgumentError("--matrix is required");
  }
  ASSIGN_OR_RETURN(const sniper::experiment::Matrix matrix,
                   sniper::experiment::LoadMatrix(
                       absl::GetFlag(FLAGS_matrix), UserDirectory(),
                       absl::GetFlag(FLAGS_work_dir)));
  std::printf("experiment '%s': %zu variants, %zu runs in %s\n",
              matrix.name.c_str(), matrix.variants.size(), matrix.cells.size(),
              matrix.work_dir.c_str());
  std::fflush(stdout);
  absl::Status ran = absl::OkStatus();
  if (!absl::GetFlag(FLAGS_report_only)) {
    sniper::experiment::RunnerOptions o;
    o.train_binary =
        absl::GetFlag(FLAGS_train_binary).empty()
            ? DefaultTrainBinary(argv0)
            : sniper::ResolveUserPath(absl::GetFlag(FLAGS_train_binary));
    o.only = absl::GetFlag(FLAGS_only);
    o.keep_going = absl::GetFlag(FLAGS_keep_going);
    o.heartbeat_s = absl::GetFlag(FLAGS_heartbeat_s);
    absl::StatusOr<sniper::experiment::RunnerReport> report =
        sniper::experiment::RunMatrix(matrix, o);
    if (report.ok()) {
      std::printf("%d runs trained now, %d finished before, %d failed\n",
                  report->ran, report->skipped, report->failed);
    }
    ran = report.status();
  } else {
    ASSIGN_OR_RETURN(const int kept,
                     sniper::experiment::KeepFinishedCells(matrix));
    if (kept > 0) {
      std::printf("%d finished runs kept in %s\n", kept,
                  matrix.results_dir.c_str());
    }
  }
  // The report covers whatever has finished, also after a failure.
  std::error_code ec;
  fs::create_directories(matrix.work_dir, ec);
  ASSIGN_OR_RETURN(const sniper::experiment::Results results,
                   sniper::experiment::ReadResults(matrix));
  RETURN_IF_ERROR(sniper::experiment::WriteReport(matrix, results));
  std::printf("%s\nReport: %s/results.md, results.json, results.png\n",
              sniper::experiment::ResultsMarkdown(matrix, results).c_str(),
              matrix.work_dir.c_str());
  return ran;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains an experiment matrix's (variant, seed) runs and reports them.\n"
      "  bazel run //tools:experiment -- "
      "--matrix=configs/experiments/paper_miniature.pbtxt");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = Run(argv[0]);
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
