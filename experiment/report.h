// File: experiment/report.h
//
// An experiment matrix's results as one Markdown table (per variant: mean
// +- sample standard deviation over its finished seeds) followed by every
// run's own numbers, a JSON file of the same numbers, and a picture (AP
// and AP small against detector-stage network pixels per image and
// images/s, one marker per run, a marker shape per variant). Every number
// comes from the runs' files (experiment/results.h); none is typed in.
//
//   ASSIGN_OR_RETURN(std::vector<std::optional<RunResult>> r,
//                    ReadResults(matrix));
//   RETURN_IF_ERROR(WriteReport(matrix, r));  // results.md/.json/.png
#ifndef SNIPER_EXPERIMENT_REPORT_H_
#define SNIPER_EXPERIMENT_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/image_io.h"
#include "experiment/matrix.h"
#include "experiment/results.h"

namespace sniper::experiment {

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1); 0 for one value
  int n = 0;
};
MeanStd Summarize(const std::vector<double>& values);

// "0.593 ± 0.004" (one value: "0.593"); `thousands` groups the integer
// part ("264,409 ± 1,203"); no values: "-".
std::string FormatMeanStd(const MeanStd& s, int decimals,
                          bool thousands = false);

// Each cell's result (nullopt: not finished), in matrix.cells' order.
using Results = std::vector<std::optional<RunResult>>;
absl::StatusOr<Results> ReadResults(const Matrix& matrix);

std::string ResultsMarkdown(const Matrix& matrix, const Results& results);
std::string ResultsJson(const Matrix& matrix, const Results& results);
data::RgbImage ResultsPicture(const Matrix& matrix, const Results& results);

// results.md, results.json and results.png in matrix.work_dir, atomically;
// with a results_dir, results.md and results.png there too.
absl::Status WriteReport(const Matrix& matrix, const Results& results);

}  // namespace sniper::experiment

#endif  // SNIPER_EXPERIMENT_REPORT_H_
