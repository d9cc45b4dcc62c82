// File: benchmarks/bench_common.h
//
// What the end-to-end benchmarks share: the embedded default with a config
// layered over it, its synthetic dataset (generated into the cache like
// the trainer does), and the process's peak resident memory.
#ifndef SNIPER_BENCHMARKS_BENCH_COMMON_H_
#define SNIPER_BENCHMARKS_BENCH_COMMON_H_

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "configs/default_synthetic_embedded.h"
#include "data/synthetic.h"
#include "glog/logging.h"
#include "port/peak_memory.h"
#include "port/proto_io.h"
#include "sniper/config.h"

namespace sniper::bench {

// The default with `layer` (PipelineConfig text, may be empty) over it;
// generates its synthetic dataset when missing. `file` layers a config
// file instead when not empty.
inline Pipeline DefaultPipeline(const char* layer, const char* file = "") {
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", file, {});
  CHECK(merged.ok()) << merged.status();
  PipelineConfig upper;
  const absl::Status parsed = ParseTextProto(layer, "layer", &upper);
  CHECK(parsed.ok()) << parsed;
  MergeReplacingLists(upper, &*merged);
  // SNIPER_BENCH_LAYER: a text-format layer over every case, for
  // experiments outside the gate (e.g. one scale only, another batch).
  if (const char* extra = std::getenv("SNIPER_BENCH_LAYER")) {
    PipelineConfig top;
    const absl::Status read = ParseTextProto(extra, "SNIPER_BENCH_LAYER", &top);
    CHECK(read.ok()) << read;
    MergeReplacingLists(top, &*merged);
  }
  absl::StatusOr<Pipeline> p = BuildPipeline(*merged);
  CHECK(p.ok()) << p.status();
  const DatasetOptions& d = p->dataset;
  if (d.synthetic && !data::SyntheticDatasetIsCurrent(d.synthetic_dir)) {
    data::SyntheticSplitStats train, val;
    const absl::Status written = data::WriteSyntheticDataset(
        d.synthetic_dir, d.synthetic_options, &train, &val);
    CHECK(written.ok()) << written;
  }
  return *std::move(p);
}

// The positive integer in environment variable `name`, or `fallback` when
// it is unset (the CI gate's shorter runs: SNIPER_BENCH_STEPS, ...).
inline int EnvInt(const char* name, int fallback) {
  const char* env = std::getenv(name);
  if (env == nullptr) return fallback;
  int value = 0;
  CHECK(absl::SimpleAtoi(env, &value) && value > 0)
      << name << "=" << env << " is not a positive integer";
  return value;
}

// Resets the peak resident memory (VmHWM) of this process.
inline void ResetPeakRss() { sniper::ResetPeakRss(); }

// The peak resident memory since the last reset, MiB (-1: unreadable).
inline double PeakRssMib() {
  const int64_t bytes = sniper::PeakRssBytes();
  return bytes < 0 ? -1 : bytes / (1024.0 * 1024.0);
}

}  // namespace sniper::bench

#endif  // SNIPER_BENCHMARKS_BENCH_COMMON_H_
