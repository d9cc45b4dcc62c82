// libFuzzer target: config layering as the CLIs do it (port/
// proto_layering.h) on PipelineConfig: the input's text up to the first
// "--set " line is a text-format config, each "--set X" line an
// assignment; then the sampler's validating builder. Torch-free.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "data/chip_sampler_builder.h"
#include "port/proto_io.h"
#include "port/proto_layering.h"
#include "sniper/pipeline.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::string text;
  std::vector<std::string> sets;
  bool in_sets = false;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "--set ")) {
      in_sets = true;
      sets.emplace_back(rest);
    } else if (!in_sets) {
      text.append(line.data(), line.size()).push_back('\n');
    }
  }
  sniper::PipelineConfig config;
  if (!sniper::ParseTextProto(text, "fuzz.pbtxt", &config).ok()) return 0;
  for (const std::string& s : sets) {
    if (!sniper::ApplyAssignment(s, &config).ok()) return 0;
  }
  (void)sniper::data::BuildChipSamplerOptions(config.sampler(),
                                              "PipelineConfig.sampler");
  return 0;
}
