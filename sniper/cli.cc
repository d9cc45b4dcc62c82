#include "sniper/cli.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "evaluation/coco_eval.h"
#include "glog/logging.h"

namespace sniper {

std::vector<std::string> TakeSetFlags(int* argc, char** argv) {
  std::vector<std::string> sets;
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--set=", 6) == 0) {
      sets.push_back(a + 6);
    } else if (std::strcmp(a, "--set") == 0 && i + 1 < *argc) {
      sets.push_back(argv[++i]);
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  return sets;
}

std::vector<std::string> InitCli(int* argc, char** argv, const char* usage) {
  std::vector<std::string> sets = TakeSetFlags(argc, argv);
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(*argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return sets;
}

void PrintCocoSummaries(const std::vector<double>& box_stats,
                        const std::vector<double>& mask_stats) {
  for (const std::string& line :
       {evaluation::FormatCocoSummary(box_stats),
        evaluation::FormatCocoSummary(mask_stats, "mask ")}) {
    if (!line.empty()) std::printf("%s\n", line.c_str());
  }
}

int FailWith(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace sniper
