// File: sniper/metrics.h
//
// Where a training stage's numbers go. The stage builds one Metrics row per
// logged window (named values, in the order added) and hands it to one
// MetricsSink; the run's sink fans out to the progress line (and train.log),
// metrics.csv, TensorBoard and the loss history that checkpoints keep and
// the loss curve plots. Each sink picks the names it knows; none reads a
// value by position.
//
//   MetricsFanout sinks;
//   sinks.Add(std::make_unique<ProgressLineSink>(log));
//   ASSIGN_OR_RETURN(auto csv, CsvMetricsSink::Open(work_dir +
//   "/metrics.csv")); sinks.Add(std::move(csv)); Metrics m; m.Set(kEpoch,
//   0).Set(kTotalSteps, 400).Set("loss", 1.2).Set("lr", 0.01);
//   RETURN_IF_ERROR(sinks.Log("rpn", 10, m));
//
// Names with a meaning to the sinks: the bookkeeping values kEpoch,
// kTotalSteps and kEtaSeconds (shown in the progress line, written to no
// scalar log), kLoss (the total), kLearningRate, kChipsPerSecond,
// kImagesPerSecond, kPixelsPerImage; every other value is a loss term
// (rpn_cls, ...: whatever the model names, in its order).
#ifndef SNIPER_SNIPER_METRICS_H_
#define SNIPER_SNIPER_METRICS_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sniper {

class EventWriter;
class RunLog;

inline constexpr char kEpoch[] = "epoch";
inline constexpr char kTotalSteps[] = "total_steps";
inline constexpr char kEtaSeconds[] = "eta_s";
inline constexpr char kLoss[] = "loss";
inline constexpr char kLearningRate[] = "lr";
inline constexpr char kChipsPerSecond[] = "chips_per_s";
inline constexpr char kImagesPerSecond[] = "images_per_s";
// Network input pixels (batch tensors, padding included) per image seen.
inline constexpr char kPixelsPerImage[] = "pixels_per_image";

// A training stage's losses per logged window, as checkpoints keep them
// (sniper/checkpoint.h) and the loss curve plots: the total and one column
// per loss term, named (the model's LossNames(): models/faster_rcnn.h).
struct LossHistory {
  struct Row {
    int64_t step = 0;
    double total = 0;
    std::vector<double> terms;  // one per name; 0 where a row lacked it
    bool operator==(const Row& o) const {
      return step == o.step && total == o.total && terms == o.terms;
    }
  };
  std::vector<std::string> names;
  std::vector<Row> rows;

  bool empty() const { return rows.empty(); }
  bool operator==(const LossHistory& o) const {
    return names == o.names && rows == o.rows;
  }
};

// Named values in insertion order; setting a name again replaces its value.
class Metrics {
 public:
  Metrics& Set(absl::string_view name, double value);
  // kLoss = total, then each loss term by name (names[k] = terms[k]; NaN
  // where `terms` is shorter): how a training stage logs its losses.
  Metrics& SetLosses(double total, const std::vector<std::string>& names,
                     const std::vector<double>& terms);
  std::optional<double> Get(absl::string_view name) const;
  const std::vector<std::pair<std::string, double>>& values() const {
    return values_;
  }

 private:
  std::vector<std::pair<std::string, double>> values_;
};

// Whether `name` is one of the bookkeeping values (kEpoch, kTotalSteps,
// kEtaSeconds), which no scalar log records.
bool IsBookkeeping(absl::string_view name);
// Whether `name` is a loss term: neither bookkeeping, nor a rate
// (kLearningRate, kChipsPerSecond, kImagesPerSecond, kPixelsPerImage), nor
// the total (kLoss).
bool IsLossTerm(absl::string_view name);

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // One logged window of `stage` ending at global step `step`.
  virtual absl::Status Log(absl::string_view stage, int64_t step,
                           const Metrics& metrics) = 0;
};

// Hands every row to each of its sinks in the order added; stops at the
// first error.
class MetricsFanout : public MetricsSink {
 public:
  void Add(std::unique_ptr<MetricsSink> sink);
  // A sink owned elsewhere (must outlive this object).
  void AddUnowned(MetricsSink* sink);
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& metrics) override;

 private:
  std::vector<std::unique_ptr<MetricsSink>> owned_;
  std::vector<MetricsSink*> sinks_;
};

// The progress line, to the run log (stderr and train.log):
//   [rpn] step 10/246  epoch 0  loss 1.2345  rpn_cls 0.5  rpn_box 0.7
//     lr 0.01  31.20 chips/s  5.30 images/s  ETA 4m05s
// (one line): the losses are every value that is neither bookkeeping nor a
// rate, in order.
class ProgressLineSink : public MetricsSink {
 public:
  explicit ProgressLineSink(RunLog& log) : log_(log) {}
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& metrics) override;
  static std::string Format(absl::string_view stage, int64_t step,
                            const Metrics& metrics);

 private:
  RunLog& log_;
};

// metrics.csv: one row per logged window, columns
//   stage,step,epoch,lr,loss,<loss terms>,chips_per_s,images_per_s
// where the loss terms are those the run's stages train (e.g. rpn_cls,
// rpn_box,rcnn_cls,rcnn_box,focus). The header is written when the file is
// new; a run that resumes appends,
// in the columns of the file's own header, so a file written before a
// column existed stays rectangular). A value a row lacks (an RPN-only
// stage's rcnn losses) is an empty cell.
// Resuming never duplicates a row: a stage's steps up to the last one the
// file already holds are not written again (a run killed after logging
// step 40 but resumed from its step-30 checkpoint re-logs 40), and a row
// cut short by the kill is dropped on open.
class CsvMetricsSink : public MetricsSink {
 public:
  // `loss_terms`: the columns between the total and the rates of a new
  // file (an existing file keeps its own header).
  static absl::StatusOr<std::unique_ptr<CsvMetricsSink>> Open(
      const std::string& path, const std::vector<std::string>& loss_terms);
  ~CsvMetricsSink() override;
  CsvMetricsSink(const CsvMetricsSink&) = delete;
  CsvMetricsSink& operator=(const CsvMetricsSink&) = delete;
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& metrics) override;

 private:
  CsvMetricsSink(std::string path, std::FILE* file,
                 std::vector<std::string> columns,
                 absl::flat_hash_map<std::string, int64_t> last_step)
      : path_(std::move(path)),
        file_(file),
        columns_(std::move(columns)),
        last_step_(std::move(last_step)) {}
  std::string path_;
  std::FILE* file_;
  std::vector<std::string> columns_;                     // after stage and step
  absl::flat_hash_map<std::string, int64_t> last_step_;  // per stage
};

// TensorBoard scalars "<stage>/<name>" for every value but the bookkeeping
// ones.
class TensorBoardSink : public MetricsSink {
 public:
  explicit TensorBoardSink(EventWriter& events) : events_(events) {}
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& metrics) override;

 private:
  EventWriter& events_;
};

// The loss history per stage, which checkpoints keep and the loss curve
// plots. A stage's columns are the loss terms of its first row (or those
// of the history it was reset to); a later row's value for a column it
// lacks is 0, and its terms outside the columns are not recorded. Rows
// without kLoss are not recorded.
class LossHistorySink : public MetricsSink {
 public:
  absl::Status Log(absl::string_view stage, int64_t step,
                   const Metrics& metrics) override;
  // Replaces a stage's history (resuming from a checkpoint).
  void Reset(const std::string& stage, LossHistory history);
  const LossHistory& history(const std::string& stage) const;
  const std::map<std::string, LossHistory>& histories() const {
    return histories_;
  }

 private:
  std::map<std::string, LossHistory> histories_;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_METRICS_H_
