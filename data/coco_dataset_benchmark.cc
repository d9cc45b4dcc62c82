// COCO instances reader throughput (MB/s as bytes_per_second).
//
//   bazel run -c opt //data:coco_dataset_benchmark
//
// BM_CocoReader_CocoMini: the real coco_mini/instances.json (853 KB; skipped
//   without ../shared/data).
// BM_CocoReader_Synthetic: an in-memory COCO-shaped document of 5,000 images
//   and 50,000 annotations with polygon segmentations (~25 MB), the way the
//   real 2017 files look; exact counters give its size and box count.
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "data/coco_dataset.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "port/proto_io.h"

namespace sniper::data {
namespace {

std::string SyntheticCocoJson(int images, int annotations) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::string out =
      "{\"info\": {\"description\": \"synthetic\"}, \"images\": [";
  for (int i = 0; i < images; ++i) {
    absl::StrAppend(&out, i ? ",\n" : "", "{\"id\": ", i + 1,
                    ", \"width\": 640, \"height\": 480, \"file_name\": \"",
                    i + 1, ".jpg\", \"license\": 3}");
  }
  out += "],\n\"annotations\": [";
  for (int a = 0; a < annotations; ++a) {
    const double w = 1 + u(rng) * 300, h = 1 + u(rng) * 200;
    const double x = u(rng) * (640 - w), y = u(rng) * (480 - h);
    absl::StrAppend(&out, a ? ",\n" : "", "{\"segmentation\": [[");
    for (int k = 0; k < 24; ++k) {
      absl::StrAppend(&out, k ? "," : "", x + u(rng) * w, ",", y + u(rng) * h);
    }
    absl::StrAppend(&out, "]], \"area\": ", w * h, ", \"iscrowd\": 0, ",
                    "\"image_id\": ", 1 + a % images, ", \"bbox\": [", x, ",",
                    y, ",", w, ",", h, "], \"category_id\": ", 1 + a % 80,
                    ", \"id\": ", 1000 + a, "}");
  }
  out += "],\n\"categories\": [";
  for (int c = 0; c < 80; ++c) {
    absl::StrAppend(&out, c ? "," : "", "{\"id\": ", c + 1, ", \"name\": \"c",
                    c + 1, "\", \"supercategory\": \"s\"}");
  }
  out += "]}";
  return out;
}

void Run(benchmark::State& state, const std::string& json) {
  size_t boxes = 0;
  for (auto _ : state) {
    auto ds = ParseCocoInstances(json, "bench", {});
    CHECK(ds.ok()) << ds.status();
    boxes = ds->num_boxes();
    benchmark::DoNotOptimize(boxes);
  }
  state.SetBytesProcessed(state.iterations() * json.size());
  state.counters["boxes"] = static_cast<double>(boxes);
  state.counters["json_bytes"] = static_cast<double>(json.size());
}

void BM_CocoReader_CocoMini(benchmark::State& state) {
  const std::string path =
      sniper::testing::SharedDataPath("coco_mini/instances.json");
  if (path.empty()) {
    state.SkipWithError(sniper::testing::kNoSharedData);
    return;
  }
  std::string json;
  CHECK(ReadFileToString(path, &json).ok());
  Run(state, json);
}
BENCHMARK(BM_CocoReader_CocoMini)->Unit(benchmark::kMillisecond);

void BM_CocoReader_Synthetic(benchmark::State& state) {
  static const std::string* json =
      new std::string(SyntheticCocoJson(5000, 50000));
  Run(state, *json);
}
BENCHMARK(BM_CocoReader_Synthetic)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sniper::data

BENCHMARK_MAIN();
