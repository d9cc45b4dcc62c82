// File: sniper/testing/tiny_pipeline.h
//
// The embedded default shrunk for tests: 12 small synthetic training
// images, 4 validation images, a handful of steps per stage, one compute
// thread; its work directory under TEST_TMPDIR.
//
//   Pipeline p = testing::TinyPipeline("resume", {"schedule.max_steps=4"});
#ifndef SNIPER_SNIPER_TESTING_TINY_PIPELINE_H_
#define SNIPER_SNIPER_TESTING_TINY_PIPELINE_H_

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "configs/default_synthetic_embedded.h"
#include "gtest/gtest.h"
#include "sniper/config.h"

namespace sniper::testing {

inline std::string TestDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

// Extra `--set` values for every pipeline of a test, comma-separated,
// from SNIPER_TEST_SETS (e.g. "device=cuda,precision=BF16": the smoke test
// on a GPU, as tools/gpu/check.sh runs it); a test's own values win.
inline std::vector<std::string> EnvironmentSets() {
  const char* v = std::getenv("SNIPER_TEST_SETS");
  if (v == nullptr || *v == '\0') return {};
  return absl::StrSplit(v, ',', absl::SkipEmpty());
}

// `name` names the work directory; `extra` are --set values after the
// test defaults.
inline Pipeline TinyPipeline(const std::string& name,
                             std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {
      "dataset.synthetic.train_images=12",
      "dataset.synthetic.val_images=4",
      "dataset.synthetic.min_side=160",
      "dataset.synthetic.max_side=400",
      "dataset.synthetic.cache_dir=" + TestDir() + "/synthetic",
      "sampler.scales[0].size.long_side=640",
      "sampler.scales[1].size.long_side=400",
      "sampler.scales[2].size.long_side=200",
      "eval.scales[0].size.long_side=640",
      "eval.scales[1].size.long_side=400",
      "eval.scales[2].size.long_side=200",
      "loader.batch_size=4",
      "negatives.rpn_schedule.max_steps=3",
      "negatives.rpn_schedule.warmup_steps=2",
      "schedule.max_steps=6",
      "schedule.warmup_steps=2",
      "schedule.decay_epochs=[0.5]",
      "schedule.epochs=2",
      "output.checkpoint_every_steps=2",
      "output.keep_checkpoints=2",
      "output.log_every_steps=1",
      "output.work_dir=" + TestDir() + "/" + name,
      "threads=1",
  };
  const std::vector<std::string> env = EnvironmentSets();
  sets.insert(sets.end(), env.begin(), env.end());
  sets.insert(sets.end(), extra.begin(), extra.end());
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", "", sets);
  EXPECT_TRUE(merged.ok()) << merged.status();
  absl::StatusOr<Pipeline> p = BuildPipeline(*merged);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

}  // namespace sniper::testing

#endif  // SNIPER_SNIPER_TESTING_TINY_PIPELINE_H_
