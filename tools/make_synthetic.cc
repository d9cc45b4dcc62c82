// make_synthetic: writes the synthetic multi-scale dataset (data/synthetic.h).
//
//   bazel run //tools:make_synthetic -- --out=DIR [--train=200 --val=50
//       --seed=0]
//
// Prints a statistics table per split: boxes per image and the size
// histogram in COCO's small / medium / large bins.
#include <chrono>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "data/synthetic.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "tools/tool_common.h"

ABSL_FLAG(std::string, out, "", "Output directory (required).");
ABSL_FLAG(int32_t, train, 200, "Training images.");
ABSL_FLAG(int32_t, val, 50, "Validation images.");
ABSL_FLAG(uint64_t, seed, 0, "Seed: the same seed writes the same bytes.");
ABSL_FLAG(int32_t, min_side, 480, "Smallest image side, pixels.");
ABSL_FLAG(int32_t, max_side, 1600, "Largest image side, pixels.");
ABSL_FLAG(double, min_object_side, 14, "Smallest object side, pixels.");
ABSL_FLAG(double, max_object_side, 0,
          "Largest object side, pixels (0: 0.6 x the image's short side); "
          "small values with large images make tiny objects.");

namespace {

void PrintRow(const char* split, const sniper::data::SyntheticSplitStats& s) {
  const double n = std::max<int64_t>(1, s.boxes);
  absl::PrintF(
      "| %s | %d | %d | %.2f | %d | %d | %.1f%% | %.1f%% | %.1f%% | %d | "
      "%.1f |\n",
      split, s.images, s.boxes,
      s.images ? static_cast<double>(s.boxes) / s.images : 0.0, s.max_boxes,
      s.empty_images, 100.0 * s.small / n, 100.0 * s.medium / n,
      100.0 * s.large / n, s.hidden, s.bytes / 1048576.0);
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv, "make_synthetic --out=DIR [--train=N --val=N --seed=S]");
  const std::string out = sniper::ResolveUserPath(absl::GetFlag(FLAGS_out));
  if (out.empty()) {
    std::cerr << "make_synthetic: --out is required\n";
    return 2;
  }
  sniper::data::SyntheticOptions o;
  o.train_images = absl::GetFlag(FLAGS_train);
  o.val_images = absl::GetFlag(FLAGS_val);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.min_side = absl::GetFlag(FLAGS_min_side);
  o.max_side = absl::GetFlag(FLAGS_max_side);
  o.min_object_side = absl::GetFlag(FLAGS_min_object_side);
  o.max_object_side = absl::GetFlag(FLAGS_max_object_side);
  sniper::data::SyntheticSplitStats train, val;
  const auto start = std::chrono::steady_clock::now();
  const absl::Status s =
      sniper::data::WriteSyntheticDataset(out, o, &train, &val);
  if (!s.ok()) {
    std::cerr << "make_synthetic: " << s.message() << "\n";
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  absl::PrintF("wrote %s in %.1f s (seed %d)\n\n", out, secs, o.seed);
  absl::PrintF(
      "| split | images | boxes | boxes/image | max | empty images | small <32 "
      "| medium 32-96 | large >=96 | hidden (mask empty) | JPEG MiB |\n");
  absl::PrintF(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
      "| ---: |\n");
  PrintRow("train", train);
  PrintRow("val", val);
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
