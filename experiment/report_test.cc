#include "experiment/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_format.h"
#include "experiment/testing/runs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::experiment {
namespace {

using ::sniper::experiment::testing::FakeRun;
using ::sniper::experiment::testing::WriteFakeRun;
using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ReportTest, MeanAndSampleStandardDeviation) {
  const MeanStd s = Summarize({0.5, 0.6, 0.7, NAN});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 0.6);
  EXPECT_NEAR(s.std, 0.1, 1e-12);
  EXPECT_EQ(FormatMeanStd(s, 3), "0.600 ± 0.100");
  EXPECT_EQ(FormatMeanStd(Summarize({264409.4, 266409.4}), 0, true),
            "265,409 ± 1,414");
  EXPECT_EQ(FormatMeanStd(Summarize({1234567.0}), 0, true), "1,234,567");
  EXPECT_EQ(FormatMeanStd(Summarize({}), 3), "-");
}

// A matrix of two variants, a: three seeds finished; b: one of two.
struct Fixture {
  Matrix matrix;
  std::vector<double> a_ap = {0.5, 0.62, 0.71};
};

Fixture Make(const std::string& name) {
  Fixture f;
  Matrix& m = f.matrix;
  m.name = name;
  m.description = "A test matrix.";
  m.work_dir = ::testing::TempDir() + "/" + name;
  m.variants = {{"a", "variant A"}, {"b", "variant B"}};
  for (int v = 0; v < 2; ++v) {
    for (int s = 0; s < (v == 0 ? 3 : 2); ++s) {
      Cell c;
      c.variant = v;
      c.seed = s;
      c.seed_index = s;
      c.dir = absl::StrCat(m.work_dir, "/", m.variants[v].name, "/seed_", s);
      m.cells.push_back(c);
    }
  }
  for (int s = 0; s < 3; ++s) {
    FakeRun r;
    r.ap = f.a_ap[s];
    r.pixels_per_image = 250000 + 1000 * s;
    r.detector_seconds = 600;
    r.eval_seconds = 60;
    WriteFakeRun(m.cells[s].dir, r);
  }
  FakeRun b;
  b.ap = 0.4;
  b.ap_small = 0.2;
  b.images_per_s = 2;
  WriteFakeRun(m.cells[3].dir, b);
  return f;
}

TEST(ReportTest, TableNumbersComeFromTheRunsFiles) {
  const Fixture f = Make("report_table");
  ASSERT_OK_AND_ASSIGN(const Results results, ReadResults(f.matrix));
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].has_value());
  EXPECT_FALSE(results[4].has_value());
  EXPECT_DOUBLE_EQ(results[1]->stats[kAp], 0.62);
  EXPECT_DOUBLE_EQ(results[0]->seconds, 660);  // every stage's summary
  EXPECT_DOUBLE_EQ(results[0]->peak_rss_mib, 600);
  // The expected cells, computed here from the values written.
  double mean = 0, ss = 0;
  for (double v : f.a_ap) mean += v / 3;
  for (double v : f.a_ap) ss += (v - mean) * (v - mean);
  const std::string ap =
      absl::StrFormat("%.3f ± %.3f", mean, std::sqrt(ss / 2));
  const std::string md = ResultsMarkdown(f.matrix, results);
  EXPECT_THAT(md, HasSubstr("A test matrix."));
  EXPECT_THAT(md, HasSubstr("| variant A | 3 | " + ap + " | "));
  // AP small is 0.3 in every run of A: no spread.
  EXPECT_THAT(md, HasSubstr(" | 0.300 ± 0.000 | "));
  EXPECT_THAT(md, HasSubstr(" | 400 ± 0 | 251,000 ± 1,000 | 5.00 ± 0.00 | "
                            "600 ± 0 | 11.0 ± 0.0 |"));
  EXPECT_THAT(md, HasSubstr("| variant B | 1 of 2 | 0.400 | "));
  EXPECT_THAT(md, HasSubstr("| a | 1 | 0.620 | "));
  EXPECT_THAT(md, HasSubstr("| b | 1 | (not run) |"));
  const std::string json = ResultsJson(f.matrix, results);
  EXPECT_THAT(json, HasSubstr("\"finished\": false"));
  EXPECT_THAT(json, HasSubstr("0.62"));
  // The picture: four panels; variant A's colour is there.
  const data::RgbImage im = ResultsPicture(f.matrix, results);
  EXPECT_EQ(im.width, 1280);
  EXPECT_EQ(im.height, 800);
  ASSERT_OK(WriteReport(f.matrix, results));
  for (const char* name : {"results.md", "results.json", "results.png"}) {
    EXPECT_TRUE(std::filesystem::exists(f.matrix.work_dir + "/" + name))
        << name;
  }
  // With a results folder: the table and picture there too, not the JSON
  // (it names this machine's directories).
  Matrix kept = f.matrix;
  kept.results_dir = f.matrix.work_dir + "_kept";
  std::filesystem::remove_all(kept.results_dir);
  ASSERT_OK(WriteReport(kept, results));
  std::ifstream in(kept.results_dir + "/results.md");
  const std::string kept_md((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(kept_md, md);
  EXPECT_TRUE(std::filesystem::exists(kept.results_dir + "/results.png"));
  EXPECT_FALSE(std::filesystem::exists(kept.results_dir + "/results.json"));
}

TEST(ReportTest, ADamagedRunFileIsAnErrorNamingIt) {
  const Fixture f = Make("report_damaged");
  const std::string path = f.matrix.cells[1].dir + "/summary/detector.json";
  ASSERT_OK(WriteFileAtomically(path, "{\"seconds\": 3}"));
  EXPECT_THAT(ReadResults(f.matrix).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(path + ": no \"pixels_per_image\"")));
  ASSERT_OK(WriteFileAtomically(path, "{\"seconds\": "));
  EXPECT_THAT(ReadResults(f.matrix).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

}  // namespace
}  // namespace sniper::experiment
