// File: data/testing/text_sampler.h
//
// A chip sampler from text-format ChipSamplerConfig (usually an embedded
// config), failing the process on a bad one: for tests and benchmarks.
// Header-only, test-only.
#ifndef SNIPER_DATA_TESTING_TEXT_SAMPLER_H_
#define SNIPER_DATA_TESTING_TEXT_SAMPLER_H_

#include "absl/status/statusor.h"
#include "data/chip_sampler.h"
#include "data/chip_sampler_builder.h"
#include "glog/logging.h"

namespace sniper::testing {

inline data::ChipSampler SamplerFromText(const char* text) {
  absl::StatusOr<data::ChipSamplerOptions> o =
      data::ParseChipSamplerOptions(text, "embedded");
  CHECK(o.ok()) << o.status();
  return data::ChipSampler(*o);
}

}  // namespace sniper::testing

#endif  // SNIPER_DATA_TESTING_TEXT_SAMPLER_H_
