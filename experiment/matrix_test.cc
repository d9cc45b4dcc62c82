#include "experiment/matrix.h"

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::experiment {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Matrix> FromText(const std::string& text,
                                const std::string& work_dir = "") {
  ExperimentMatrix config;
  absl::Status s = ParseTextProto(text, "m.pbtxt", &config);
  if (!s.ok()) return s;
  return BuildMatrix(config, "m.pbtxt", "/base", "/cwd", work_dir);
}

TEST(MatrixTest, CellsCarryTheirDirectoryAndTrainArguments) {
  const std::string dir =
      std::filesystem::path(::testing::TempDir() + "/matrix_cfg")
          .lexically_normal()
          .string();
  std::filesystem::create_directories(dir);
  ASSERT_OK(WriteFileAtomically(dir + "/snip.pbtxt", "name: \"snip\""));
  ExperimentMatrix config;
  ASSERT_OK(ParseTextProto(
      R"pb(name: "mini"
           seeds: [ 0, 1 ]
           set: "schedule.epochs=3"
           variants { name: "sniper" description: "SNIPER" }
           variants {
             name: "snip"
             config: "snip.pbtxt"
             set: "loader.batch_size=2"
             seeds: [ 7 ]
           })pb",
      "m", &config));
  ASSERT_OK_AND_ASSIGN(Matrix m, BuildMatrix(config, "m", dir, "/home/u"));
  EXPECT_EQ(m.name, "mini");
  EXPECT_EQ(m.work_dir, "/home/u/experiments/mini");
  ASSERT_EQ(m.variants.size(), 2u);
  EXPECT_EQ(m.variants[0].description, "SNIPER");
  EXPECT_EQ(m.variants[1].description, "snip");  // the name when unset
  ASSERT_EQ(m.cells.size(), 3u);
  EXPECT_EQ(m.cells[0].dir, "/home/u/experiments/mini/sniper/seed_0");
  EXPECT_THAT(m.cells[1].args,
              ElementsAre("--set=schedule.epochs=3", "--set=seed=1",
                          "--set=sampler.seed=1", "--set=loader.seed=1",
                          "--work_dir=/home/u/experiments/mini/sniper/seed_1"));
  EXPECT_EQ(m.cells[1].seed_index, 1);
  const Cell& snip = m.cells[2];
  EXPECT_EQ(snip.variant, 1);
  EXPECT_EQ(snip.seed, 7u);
  EXPECT_EQ(snip.seed_index, 0);
  EXPECT_THAT(
      snip.args,
      ElementsAre("--config=" + dir + "/snip.pbtxt", "--set=schedule.epochs=3",
                  "--set=loader.batch_size=2", "--set=seed=7",
                  "--set=sampler.seed=7", "--set=loader.seed=7",
                  "--work_dir=/home/u/experiments/mini/snip/seed_7"));
  // --work_dir and the file's work_dir.
  ASSERT_OK_AND_ASSIGN(Matrix w, BuildMatrix(config, "m", dir, "/home/u", "x"));
  EXPECT_EQ(w.cells[0].dir, "/home/u/x/sniper/seed_0");
  config.set_work_dir("/abs/out");
  ASSERT_OK_AND_ASSIGN(Matrix a, BuildMatrix(config, "m", dir, "/home/u"));
  EXPECT_EQ(a.work_dir, "/abs/out");
}

TEST(MatrixTest, KeptResultsGoUnderTheMatrixFilesDirectory) {
  ASSERT_OK_AND_ASSIGN(Matrix none, FromText(R"pb(name: "k"
                                                  seeds: [ 0, 4 ]
                                                  variants { name: "a" })pb"));
  EXPECT_EQ(none.results_dir, "");
  EXPECT_EQ(none.cells[0].kept_dir, "");
  ASSERT_OK_AND_ASSIGN(Matrix m, FromText(R"pb(name: "k"
                                               seeds: [ 0, 4 ]
                                               results_dir: "../docs/results/k/"
                                               variants { name: "a" })pb"));
  EXPECT_EQ(m.results_dir, "/docs/results/k");  // against /base, normalised
  EXPECT_EQ(m.cells[1].kept_dir, "/docs/results/k/a/seed_4");
  EXPECT_EQ(m.cells[1].dir, "/cwd/experiments/k/a/seed_4");  // unchanged
  EXPECT_THAT(FromText(R"pb(name: "k"
                            seeds: 0
                            results_dir: ""
                            variants { name: "a" })pb")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.pbtxt: ExperimentMatrix.results_dir: "
                                 "must be a directory")));
}

TEST(MatrixTest, SeedFieldsCanBeChosen) {
  ASSERT_OK_AND_ASSIGN(Matrix m, FromText(R"pb(name: "s"
                                               seeds: 3
                                               seed_fields: "seed"
                                               variants { name: "a" })pb"));
  EXPECT_THAT(
      m.cells[0].args,
      ElementsAre("--set=seed=3", "--work_dir=/cwd/experiments/s/a/seed_3"));
}

TEST(MatrixTest, ErrorsNameTheFileAndTheField) {
  auto error = [](const std::string& text) { return FromText(text).status(); };
  EXPECT_THAT(error(R"pb(name: "Big"
                         seeds: 0
                         variants { name: "a" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.pbtxt: ExperimentMatrix.name: must be "
                                 "[a-z0-9_]+, got \"Big\"")));
  EXPECT_THAT(error(R"pb(name: "x" seeds: 0)pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ExperimentMatrix.variants: must list")));
  EXPECT_THAT(
      error(R"pb(name: "x"
                 seeds: 0
                 variants { name: "a" }
                 variants { name: "a" })pb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ExperimentMatrix.variants[1].name: \"a\" names two "
                         "variants")));
  EXPECT_THAT(
      error(R"pb(name: "x"
                 variants { name: "a" })pb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ExperimentMatrix.variants[0].seeds: no seeds")));
  EXPECT_THAT(error(R"pb(name: "x"
                         seeds: [ 1, 1 ]
                         variants { name: "a" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ExperimentMatrix.seeds[1]: seed 1 is listed "
                                 "twice")));
  EXPECT_THAT(error(R"pb(name: "x"
                         seeds: 0
                         variants { name: "a" set: "epochs" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ExperimentMatrix.variants[0].set[0]: must be "
                                 "path=value, got \"epochs\"")));
  EXPECT_THAT(
      error(R"pb(name: "x"
                 seeds: 0
                 variants { name: "a" config: "no.pbtxt" })pb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ExperimentMatrix.variants[0].config: no such file: "
                         "/base/no.pbtxt")));
  EXPECT_THAT(LoadMatrix("/nonexistent/m.pbtxt", "/").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("m.pbtxt")));
}

// The matrices we ship build, and every variant's config file exists.
TEST(MatrixTest, ShippedMatricesBuild) {
  for (const char* file : {"configs/experiments/paper_miniature.pbtxt"}) {
    ASSERT_OK_AND_ASSIGN(Matrix m, LoadMatrix(file, ".", "/tmp/out"));
    EXPECT_GE(m.variants.size(), 7u) << file;
    for (const Cell& c : m.cells) EXPECT_EQ(c.dir.rfind("/tmp/out/", 0), 0u);
    // Its kept runs are a folder of the repository (committed).
    EXPECT_EQ(m.results_dir, "docs/results/paper_miniature") << file;
  }
}

}  // namespace
}  // namespace sniper::experiment
