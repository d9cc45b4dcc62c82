// File: experiment/testing/runs.h
//
// Finished runs written by hand for the experiment tests: the files
// //sniper:train leaves (eval_stats.json, summary/<stage>.json) with chosen
// numbers, so that tables can be checked against values the test knows.
#ifndef SNIPER_EXPERIMENT_TESTING_RUNS_H_
#define SNIPER_EXPERIMENT_TESTING_RUNS_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/json_writer.h"
#include "port/proto_io.h"

namespace sniper::experiment::testing {

struct FakeRun {
  double ap = 0.5, ap_small = 0.3;
  double steps = 400;
  double pixels_per_image = 250000;
  double images_per_s = 5;
  double peak_rss_bytes = 600.0 * 1024 * 1024;
  double detector_seconds = 300, eval_seconds = 12;
};

// The 12 COCO numbers of a run with this AP and AP small (the others
// derived from them, distinct).
inline std::vector<double> FakeStats(const FakeRun& r) {
  return {r.ap, r.ap + 0.2, r.ap + 0.05, r.ap_small, r.ap + 0.1, r.ap + 0.01,
          0.3,  0.6,        0.65,        0.5,        0.7,        0.75};
}

inline void WriteFakeRun(const std::string& dir, const FakeRun& r) {
  std::filesystem::create_directories(dir + "/summary");
  JsonWriter stats;
  stats.BeginObject().Key("stats").BeginArray();
  for (double v : FakeStats(r)) stats.Double(v);
  stats.EndArray().EndObject();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/eval_stats.json", stats.Finish()).ok());
  JsonWriter det;
  det.BeginObject();
  det.Key("stage").String("detector");
  det.Key("seconds").Double(r.detector_seconds);
  det.Key("peak_rss_bytes").Double(r.peak_rss_bytes);
  det.Key("steps").Double(r.steps);
  det.Key("images_per_s").Double(r.images_per_s);
  det.Key("pixels_per_image").Double(r.pixels_per_image);
  det.EndObject();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/summary/detector.json", det.Finish()).ok());
  JsonWriter eval;
  eval.BeginObject().Key("stage").String("eval");
  eval.Key("seconds").Double(r.eval_seconds).EndObject();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/summary/eval.json", eval.Finish()).ok());
}

}  // namespace sniper::experiment::testing

#endif  // SNIPER_EXPERIMENT_TESTING_RUNS_H_
