// File: sniper/cli.h
//
// What //sniper:train, //sniper:eval and //sniper:detect share: the
// repeatable --set flag, start-up, the COCO summary lines and errors. The
// layered, validated pipeline is PipelineFromLayers (sniper/config.h).
#ifndef SNIPER_SNIPER_CLI_H_
#define SNIPER_SNIPER_CLI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sniper {

// Removes every "--set=X" / "--set X" from argv and returns the Xs in
// order (absl's list flags would split values at commas).
std::vector<std::string> TakeSetFlags(int* argc, char** argv);

// A tool's start-up: takes the --set flags out (returned), parses the rest
// with absl (exits on --help or a bad flag), logs to stderr.
std::vector<std::string> InitCli(int* argc, char** argv, const char* usage);

// Prints the headline COCO line of an eval stage's box stats and, when
// there are any, of its mask stats ("mask AP ..."): what train and eval
// print last (evaluation::FormatCocoSummary).
void PrintCocoSummaries(const std::vector<double>& box_stats,
                        const std::vector<double>& mask_stats);

// Prints "error: <message>" to stderr and returns 1.
int FailWith(const absl::Status& status);

}  // namespace sniper

#endif  // SNIPER_SNIPER_CLI_H_
