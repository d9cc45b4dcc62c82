#include "experiment/runner.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiment/report.h"
#include "experiment/results.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::experiment {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr char kFake[] = "experiment/testdata/fake_train.sh";

// A 2 x 2 matrix in a fresh directory, the fake trainer's call log beside.
struct Fixture {
  Matrix matrix;
  std::string calls;
};

// `extra`: more ExperimentMatrix fields; `fresh`: an empty directory.
Fixture Make(const std::string& name, const std::string& extra = "",
             bool fresh = true) {
  Fixture s;
  const std::string dir = ::testing::TempDir() + "/" + name;
  if (fresh) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ExperimentMatrix config;
  EXPECT_OK(ParseTextProto(absl::StrCat(R"pb(name: "m"
                                             seeds: [ 0, 1 ]
                                             seed_fields: "seed"
                                             variants { name: "a" }
                                             variants { name: "b" })pb",
                                        extra),
                           "m", &config));
  absl::StatusOr<Matrix> m = BuildMatrix(config, "m", dir, dir, "out");
  EXPECT_OK(m.status());
  s.matrix = *m;
  s.calls = dir + "/calls.txt";
  setenv("FAKE_TRAIN_CALLS", s.calls.c_str(), 1);
  unsetenv("FAKE_TRAIN_FAIL");
  unsetenv("FAKE_TRAIN_STOP");
  return s;
}

// The cells the fake trainer was started for ("a/seed_0", ...), and
// whether each call resumed.
std::vector<std::string> Calls(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    const size_t w = line.find("--work_dir=");
    std::string dir = line.substr(w + 11, line.find(' ', w) - w - 11);
    const fs::path p(dir);
    out.push_back(
        p.parent_path().filename().string() + "/" + p.filename().string() +
        (line.find("--resume") != std::string::npos ? " resume" : ""));
  }
  return out;
}

RunnerOptions Options(std::vector<std::string>* lines) {
  RunnerOptions o;
  o.train_binary = kFake;
  o.heartbeat_s = 0;
  o.print = [lines](const std::string& l) { lines->push_back(l); };
  return o;
}

TEST(RunnerTest, AStoppedMatrixResumesWithoutRerunningFinishedCells) {
  const Fixture s = Make("runner_resume");
  std::vector<std::string> lines;
  // The third cell (seed-major order: a/0, b/0, a/1, b/1) stops mid-run.
  setenv("FAKE_TRAIN_STOP", "a/seed_1", 1);
  EXPECT_THAT(RunMatrix(s.matrix, Options(&lines)).status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("a seed 1: the process ended without the "
                                 "eval stage's summary")));
  EXPECT_THAT(Calls(s.calls), ElementsAre("a/seed_0 resume", "b/seed_0 resume",
                                          "a/seed_1 resume"));
  unsetenv("FAKE_TRAIN_STOP");
  lines.clear();
  ASSERT_OK_AND_ASSIGN(RunnerReport r, RunMatrix(s.matrix, Options(&lines)));
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.ran, 2);
  EXPECT_EQ(r.failed, 0);
  // Only the unfinished cells ran again.
  EXPECT_THAT(Calls(s.calls), ElementsAre("a/seed_0 resume", "b/seed_0 resume",
                                          "a/seed_1 resume", "a/seed_1 resume",
                                          "b/seed_1 resume"));
  EXPECT_THAT(lines.front(), HasSubstr("2 of 4 cells finished before"));
  // A third run has nothing to do; the report has every cell.
  ASSERT_OK_AND_ASSIGN(r, RunMatrix(s.matrix, Options(&lines)));
  EXPECT_EQ(r.skipped, 4);
  EXPECT_EQ(Calls(s.calls).size(), 5u);
  ASSERT_OK_AND_ASSIGN(const Results results, ReadResults(s.matrix));
  for (const auto& res : results) EXPECT_TRUE(res.has_value());
  // Each cell's output went to its log.
  std::ifstream log(s.matrix.cells[0].dir + "/experiment.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("[detector] step 1/2 of a/seed_0"));
}

TEST(RunnerTest, AFailedCellStopsTheMatrixUnlessKeepGoing) {
  const Fixture s = Make("runner_fail");
  setenv("FAKE_TRAIN_FAIL", "b/seed_0", 1);
  std::vector<std::string> lines;
  EXPECT_THAT(RunMatrix(s.matrix, Options(&lines)).status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("b seed 0 failed (exit status 3)")));
  EXPECT_EQ(Calls(s.calls).size(), 2u);
  RunnerOptions o = Options(&lines);
  o.keep_going = true;
  const absl::StatusOr<RunnerReport> r = RunMatrix(s.matrix, o);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInternal,
                                   HasSubstr("1 cells failed")));
  // a/seed_0 was finished; b/seed_0 failed again; a/1 and b/1 ran.
  EXPECT_THAT(Calls(s.calls), ElementsAre("a/seed_0 resume", "b/seed_0 resume",
                                          "b/seed_0 resume", "a/seed_1 resume",
                                          "b/seed_1 resume"));
  EXPECT_THAT(lines,
              ::testing::Contains(HasSubstr("error: b/seed_0 went wrong")));
}

TEST(RunnerTest, OnlyRunsTheNamedVariants) {
  const Fixture s = Make("runner_only");
  std::vector<std::string> lines;
  RunnerOptions o = Options(&lines);
  o.only = {"b"};
  ASSERT_OK_AND_ASSIGN(RunnerReport r, RunMatrix(s.matrix, o));
  EXPECT_EQ(r.ran, 2);
  EXPECT_THAT(Calls(s.calls),
              ElementsAre("b/seed_0 resume", "b/seed_1 resume"));
  o.only = {"c"};
  EXPECT_THAT(RunMatrix(s.matrix, o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no variant \"c\"")));
  o.train_binary = "/nonexistent/train";
  EXPECT_THAT(RunMatrix(s.matrix, o).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/nonexistent/train")));
}

TEST(RunnerTest, KeptResultsCarryTheMatrixToAFreshWorkDirectory) {
  Fixture s = Make("runner_kept", R"pb(results_dir: "kept")pb");
  const std::string kept = s.matrix.results_dir;
  EXPECT_EQ(kept, fs::path(::testing::TempDir() + "/runner_kept/kept")
                      .lexically_normal()
                      .string());
  setenv("FAKE_AP_1", "0.7", 1);
  std::vector<std::string> lines;
  ASSERT_OK_AND_ASSIGN(RunnerReport r, RunMatrix(s.matrix, Options(&lines)));
  unsetenv("FAKE_AP_1");
  EXPECT_EQ(r.ran, 4);
  EXPECT_EQ(r.kept, 4);
  EXPECT_THAT(lines, ::testing::Contains(
                         HasSubstr("b seed 1 kept in " + kept + "/b/seed_1")));
  // The numbers' files are kept, not the checkpoints or logs.
  EXPECT_TRUE(fs::is_regular_file(kept + "/a/seed_1/eval_stats.json"));
  EXPECT_TRUE(fs::is_regular_file(kept + "/a/seed_1/summary/detector.json"));
  EXPECT_TRUE(fs::is_regular_file(kept + "/a/seed_1/summary/eval.json"));
  EXPECT_FALSE(fs::exists(kept + "/a/seed_1/detector"));
  EXPECT_FALSE(fs::exists(kept + "/a/seed_1/train.log"));
  EXPECT_FALSE(fs::exists(kept + "/a/seed_1.tmp"));
  // Another machine: the work directories are gone, the kept folder is
  // there. Nothing runs again and the report reads the kept numbers.
  fs::remove_all(s.matrix.work_dir);
  ASSERT_OK_AND_ASSIGN(const int kept_now, KeepFinishedCells(s.matrix));
  EXPECT_EQ(kept_now, 0);  // nothing finished here; the copies stay
  EXPECT_TRUE(fs::is_regular_file(kept + "/b/seed_0/eval_stats.json"));
  lines.clear();
  ASSERT_OK_AND_ASSIGN(r, RunMatrix(s.matrix, Options(&lines)));
  EXPECT_EQ(r.skipped, 4);
  EXPECT_EQ(r.ran, 0);
  EXPECT_EQ(r.kept, 0);
  EXPECT_EQ(Calls(s.calls).size(), 4u);
  ASSERT_OK_AND_ASSIGN(const Results results, ReadResults(s.matrix));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_DOUBLE_EQ(results[0]->stats[kAp], 0.5);  // a seed 0
  EXPECT_DOUBLE_EQ(results[1]->stats[kAp], 0.7);  // a seed 1
  EXPECT_DOUBLE_EQ(results[1]->steps, 30);
}

TEST(RunnerTest, CellsFinishedBeforeAResultsDirAreKeptAtTheStart) {
  Fixture s = Make("runner_kept_late");
  std::vector<std::string> lines;
  RunnerOptions o = Options(&lines);
  o.only = {"a"};
  ASSERT_OK_AND_ASSIGN(RunnerReport r, RunMatrix(s.matrix, o));
  EXPECT_EQ(r.kept, 0);
  // The same matrix, now with a results_dir: a's runs are copied there
  // before b runs, and a stale copy is replaced.
  s = Make("runner_kept_late", R"pb(results_dir: "kept")pb", /*fresh=*/false);
  const std::string stale = s.matrix.results_dir + "/a/seed_0";
  fs::create_directories(stale);
  std::ofstream(stale + "/stale.txt") << "old";
  o.only = {"b"};
  lines.clear();
  ASSERT_OK_AND_ASSIGN(r, RunMatrix(s.matrix, o));
  EXPECT_EQ(r.ran, 2);
  EXPECT_EQ(r.kept, 4);  // a's two at the start, b's two as they finished
  EXPECT_THAT(lines.front(),
              HasSubstr("2 finished cells kept in " + s.matrix.results_dir));
  EXPECT_TRUE(fs::is_regular_file(stale + "/eval_stats.json"));
  EXPECT_FALSE(fs::exists(stale + "/stale.txt"));
  EXPECT_FALSE(fs::exists(stale + ".old"));
}

TEST(RunnerTest, AnUnfinishedRunIsNotKept) {
  const std::string dir = ::testing::TempDir() + "/runner_unfinished";
  fs::remove_all(dir);
  fs::create_directories(dir + "/run/summary");
  EXPECT_THAT(KeepRunResult(dir + "/run", dir + "/kept"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(dir + "/run: not finished")));
  EXPECT_FALSE(fs::exists(dir + "/kept"));
}

TEST(RunnerTest, FormatSeconds) {
  EXPECT_EQ(FormatSeconds(45), "45s");
  EXPECT_EQ(FormatSeconds(725), "12m05s");
  EXPECT_EQ(FormatSeconds(3725), "1h02m");
}

}  // namespace
}  // namespace sniper::experiment
