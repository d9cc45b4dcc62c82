#include "sniper/metrics.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "sniper/event_writer.h"
#include "sniper/run_log.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string TempDir() {
  char tmpl[] = "/tmp/metrics_test_XXXXXX";
  return mkdtemp(tmpl);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A row as the RPN stage logs it: no rcnn losses.
Metrics RpnRow() {
  Metrics m;
  m.Set(kTotalSteps, 246)
      .Set(kEpoch, 1)
      .Set(kLoss, 1.25)
      .Set("rpn_cls", 0.5)
      .Set("rpn_box", 0.75)
      .Set(kLearningRate, 0.01)
      .Set(kChipsPerSecond, 31.2)
      .Set(kImagesPerSecond, 5.3)
      .Set(kEtaSeconds, 245);
  return m;
}

class FailingSink : public MetricsSink {
 public:
  absl::Status Log(absl::string_view, int64_t, const Metrics&) override {
    return absl::InternalError("disk full");
  }
};

class CountingSink : public MetricsSink {
 public:
  absl::Status Log(absl::string_view, int64_t, const Metrics&) override {
    ++rows;
    return absl::OkStatus();
  }
  int rows = 0;
};

TEST(MetricsTest, KeepsInsertionOrderAndReplacesByName) {
  Metrics m;
  m.Set("b", 1).Set("a", 2).Set("b", 3);
  EXPECT_THAT(m.values(), ElementsAre(Pair("b", 3.0), Pair("a", 2.0)));
  EXPECT_EQ(m.Get("a"), 2.0);
  EXPECT_FALSE(m.Get("c").has_value());
  EXPECT_TRUE(IsBookkeeping(kEpoch));
  EXPECT_TRUE(IsBookkeeping(kEtaSeconds));
  EXPECT_FALSE(IsBookkeeping(kLoss));
}

TEST(ProgressLineSinkTest, FormatsTheTrainingLine) {
  EXPECT_EQ(ProgressLineSink::Format("rpn", 10, RpnRow()),
            "[rpn] step 10/246  epoch 1  loss 1.2500  rpn_cls 0.5000  rpn_box "
            "0.7500  lr 0.01  31.20 chips/s  5.30 images/s  ETA 4m05s");
}

TEST(ProgressLineSinkTest, WritesTheLogFile) {
  const std::string path = TempDir() + "/train.log";
  {
    RunLog log(path, /*progress=*/false, /*echo=*/false);
    ProgressLineSink sink(log);
    ASSERT_OK(sink.Log("rpn", 10, RpnRow()));
  }
  EXPECT_EQ(ReadFile(path),
            ProgressLineSink::Format("rpn", 10, RpnRow()) + "\n");
}

// The loss columns of a run whose detector trains the mask branch.
const std::vector<std::string> kMaskRunTerms = {
    "rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box", "focus", "mask"};

TEST(CsvMetricsSinkTest, HeaderOnceAndEmptyCellsForMissingLosses) {
  const std::string path = TempDir() + "/metrics.csv";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(path, kMaskRunTerms));
    ASSERT_OK(csv->Log("rpn", 10, RpnRow()));
  }
  {
    // Resuming appends without a second header.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(path, kMaskRunTerms));
    Metrics m = RpnRow();
    m.Set("rcnn_cls", 0.125).Set("rcnn_box", NAN).Set(kEpoch, 2);
    m.Set("focus", 0.25).Set("mask", 0.5);
    ASSERT_OK(csv->Log("detector", 20, m));
  }
  EXPECT_EQ(ReadFile(path),
            "stage,step,epoch,lr,loss,rpn_cls,rpn_box,rcnn_cls,rcnn_box,"
            "focus,mask,chips_per_s,images_per_s\n"
            "rpn,10,1,0.01,1.25,0.5,0.75,,,,,31.2000,5.3000\n"
            "detector,20,2,0.01,1.25,0.5,0.75,0.125,nan,0.25,0.5,31.2000,"
            "5.3000\n");
}

TEST(CsvMetricsSinkTest, ResumingAnOlderFileKeepsItsColumns) {
  // A metrics.csv written before the focus column existed: rows appended
  // on resume have the file's columns, in its order.
  const std::string path = TempDir() + "/old_metrics.csv";
  std::ofstream(path) << "stage,step,epoch,loss,rcnn_box,images_per_s\n"
                         "rpn,10,1,1.5,,5.0000\n";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(path, kMaskRunTerms));
    Metrics m = RpnRow();
    m.Set("rcnn_box", 0.5).Set("focus", 0.25);
    ASSERT_OK(csv->Log("detector", 20, m));
  }
  EXPECT_EQ(ReadFile(path),
            "stage,step,epoch,loss,rcnn_box,images_per_s\n"
            "rpn,10,1,1.5,,5.0000\n"
            "detector,20,1,1.25,0.5,5.3000\n");
}

TEST(CsvMetricsSinkTest, ResumeWritesNoRowTwiceAndDropsACutRow) {
  // A run logged rpn steps 10 and 20, then was killed while writing step
  // 30's row; it resumes from its step-10 checkpoint and logs 20 and 30
  // again, then the detector stage.
  const std::string path = TempDir() + "/resumed_metrics.csv";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(path, kMaskRunTerms));
    ASSERT_OK(csv->Log("rpn", 10, RpnRow()));
    ASSERT_OK(csv->Log("rpn", 20, RpnRow()));
  }
  std::ofstream(path, std::ios::app) << "rpn,30,1,0.0";  // no newline
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CsvMetricsSink> csv,
                         CsvMetricsSink::Open(path, kMaskRunTerms));
    ASSERT_OK(csv->Log("rpn", 20, RpnRow()));
    ASSERT_OK(csv->Log("rpn", 30, RpnRow()));
    ASSERT_OK(csv->Log("detector", 10, RpnRow()));
  }
  const std::string row = ",1,0.01,1.25,0.5,0.75,,,,,31.2000,5.3000\n";
  EXPECT_EQ(ReadFile(path),
            "stage,step,epoch,lr,loss,rpn_cls,rpn_box,rcnn_cls,rcnn_box,"
            "focus,mask,chips_per_s,images_per_s\n"
            "rpn,10" +
                row + "rpn,20" + row + "rpn,30" + row + "detector,10" + row);
  // A file that is not a metrics.csv is refused, not appended to.
  const std::string bad = TempDir() + "/not_metrics.csv";
  std::ofstream(bad) << "stage,step,epoch\nrpn,ten,1\n";
  EXPECT_THAT(CsvMetricsSink::Open(bad, kMaskRunTerms).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(bad + ": not a metrics.csv row")));
  std::ofstream(bad) << "header\nrpn,10,1\n";
  EXPECT_THAT(CsvMetricsSink::Open(bad, kMaskRunTerms).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(bad + ": not a metrics.csv header")));
}

TEST(CsvMetricsSinkTest, UnwritablePathIsAnErrorNamingIt) {
  EXPECT_THAT(CsvMetricsSink::Open("/nonexistent-dir/metrics.csv", {}).status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("/nonexistent-dir/metrics.csv")));
}

TEST(TensorBoardSinkTest, ScalarsPerStageWithoutBookkeeping) {
  const std::string dir = TempDir();
  std::string path;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventWriter> events,
                         EventWriter::Create(dir));
    path = events->path();
    TensorBoardSink sink(*events);
    ASSERT_OK(sink.Log("rpn", 10, RpnRow()));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ScalarEvent> read, ReadScalarEvents(path));
  std::vector<std::string> tags;
  for (const ScalarEvent& e : read) {
    EXPECT_EQ(e.step, 10);
    tags.push_back(e.tag);
  }
  EXPECT_THAT(tags,
              ElementsAre("rpn/loss", "rpn/rpn_cls", "rpn/rpn_box", "rpn/lr",
                          "rpn/chips_per_s", "rpn/images_per_s"));
  EXPECT_FLOAT_EQ(read[0].value, 1.25f);
}

TEST(LossHistorySinkTest, ColumnsFromTheFirstRowAndZeroForMissingLosses) {
  LossHistorySink history;
  ASSERT_OK(history.Log("rpn", 10, RpnRow()));
  Metrics no_loss;
  no_loss.Set(kLearningRate, 0.1);
  ASSERT_OK(history.Log("rpn", 20, no_loss));  // not a loss row: skipped
  Metrics other = RpnRow();
  other.Set("rpn_box", NAN).Set("focus", 3);  // not a column of this stage
  Metrics lacking;
  lacking.Set(kLoss, 2).Set("rpn_box", 1);
  ASSERT_OK(history.Log("rpn", 30, other));
  ASSERT_OK(history.Log("rpn", 40, lacking));
  const LossHistory& rpn = history.history("rpn");
  EXPECT_THAT(rpn.names, ElementsAre("rpn_cls", "rpn_box"));
  ASSERT_EQ(rpn.rows.size(), 3u);
  EXPECT_EQ(rpn.rows[0], (LossHistory::Row{10, 1.25, {0.5, 0.75}}));
  EXPECT_EQ(rpn.rows[1].step, 30);
  EXPECT_TRUE(std::isnan(rpn.rows[1].terms[1]));
  EXPECT_EQ(rpn.rows[2], (LossHistory::Row{40, 2, {0, 1}}));
  EXPECT_TRUE(history.history("detector").empty());
  // Resuming: the checkpoint's history, its columns kept for new rows.
  history.Reset("rpn", {{"rpn_box", "x"}, {{1, 2, {3, 4}}}});
  ASSERT_OK(history.Log("rpn", 50, RpnRow()));
  EXPECT_EQ(history.history("rpn").rows.size(), 2u);
  EXPECT_EQ(history.history("rpn").rows[1],
            (LossHistory::Row{50, 1.25, {0.75, 0}}));
}

TEST(MetricsFanoutTest, EverySinkInOrderAndTheFirstErrorStops) {
  MetricsFanout fanout;
  auto counting = std::make_unique<CountingSink>();
  CountingSink* first = counting.get();
  CountingSink after;
  fanout.Add(std::move(counting));
  fanout.Add(std::make_unique<FailingSink>());
  fanout.AddUnowned(&after);
  EXPECT_THAT(fanout.Log("rpn", 1, RpnRow()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("disk full")));
  EXPECT_EQ(first->rows, 1);
  EXPECT_EQ(after.rows, 0);
}

}  // namespace
}  // namespace sniper
