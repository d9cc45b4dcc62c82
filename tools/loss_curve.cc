// bazel run //tools:loss_curve -- --metrics=RUN/metrics.csv --out=loss.png
//
// Draws a run's loss curves again from its metrics.csv: a panel per
// training stage (log y), the total in black and each loss term in its
// colour, long series smoothed with the raw values faint (sniper/loss_curve.h;
// what //sniper:train writes as <work_dir>/loss_curve.png).
#include "sniper/loss_curve.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "port/status_macros.h"

ABSL_FLAG(std::string, metrics, "", "a run's metrics.csv");
ABSL_FLAG(std::string, out, "loss_curve.png", "the PNG to write");

namespace {

absl::Status Run() {
  const std::string metrics =
      sniper::ResolveUserPath(absl::GetFlag(FLAGS_metrics));
  const std::string out = sniper::ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (metrics.empty())
    return absl::InvalidArgumentError("--metrics is required");
  ASSIGN_OR_RETURN(const std::vector<sniper::StageLosses> stages,
                   sniper::LossesFromMetricsCsv(metrics));
  ASSIGN_OR_RETURN(const bool drawn, sniper::WriteLossCurve(out, stages));
  if (!drawn) {
    return absl::NotFoundError(
        absl::StrCat(metrics, ": no training stage logged a loss"));
  }
  std::printf("%zu stages -> %s\n", stages.size(), out.c_str());
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Draws a run's loss curves from its metrics.csv.\n"
      "  bazel run //tools:loss_curve -- --metrics=run/metrics.csv "
      "--out=loss.png");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = Run();
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
