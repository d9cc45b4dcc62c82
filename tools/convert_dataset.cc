// convert_dataset: writes a dataset (COCO JSON, Pascal VOC or YOLO labels)
// in Pascal VOC's or YOLO's layout, the images linked, not copied
// (data/dataset_export.h).
//
//   bazel run //tools:convert_dataset -- --annotations=instances.json
//       --images=DIR --to=voc --out=/tmp/voc --split=trainval
//   bazel run //tools:convert_dataset -- --voc_root=VOC2007 --to=yolo
//       --out=/tmp/yolo --split=train
//
// VOC keeps ignore (crowd) boxes as difficult objects; YOLO has no such
// flag and leaves them out (counted in the summary line).
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "data/dataset_export.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "tools/dataset_flags.h"
#include "tools/tool_common.h"

ABSL_FLAG(std::string, to, "", "Output layout: voc or yolo (required).");
ABSL_FLAG(std::string, out, "", "Output directory (required).");
ABSL_FLAG(std::string, split, "train",
          "Split name: ImageSets/Main/<split>.txt (VOC) or images/<split>/ "
          "and labels/<split>/ (YOLO).");
ABSL_FLAG(int32_t, digits, 9,
          "Significant digits of written coordinates (VOC: 0 writes whole "
          "pixels, as VOC's own files).");

namespace {

int Run() {
  const std::string to = absl::GetFlag(FLAGS_to);
  const std::string out = sniper::ResolveUserPath(absl::GetFlag(FLAGS_out));
  if ((to != "voc" && to != "yolo") || out.empty()) {
    std::cerr << "convert_dataset: --to=voc|yolo and --out=DIR are required\n";
    return 2;
  }
  if (absl::Status usage = sniper::tools::CheckDatasetFlags(); !usage.ok()) {
    std::cerr << "convert_dataset: " << usage.message() << "\n";
    return 2;
  }
  auto loaded = sniper::tools::DatasetFromFlags({});
  if (!loaded.ok()) {
    std::cerr << "convert_dataset: " << loaded.status().message() << "\n";
    return 1;
  }
  if (loaded->image_dir.empty()) {
    std::cerr << "convert_dataset: --images is required with --annotations "
                 "(the images are linked)\n";
    return 2;
  }
  sniper::data::ExportOptions options;
  options.digits = absl::GetFlag(FLAGS_digits);
  sniper::data::ExportStats stats;
  const std::string split = absl::GetFlag(FLAGS_split);
  const absl::Status status =
      to == "voc"
          ? sniper::data::WriteVocSplit(loaded->dataset, loaded->image_dir, out,
                                        split, options, &stats)
          : sniper::data::WriteYoloSplit(loaded->dataset, loaded->image_dir,
                                         out, split, options, &stats);
  if (!status.ok()) {
    std::cerr << "convert_dataset: " << status.message() << "\n";
    return 1;
  }
  std::printf(
      "%s -> %s %s (split %s): %lld images, %lld boxes, %lld ignore boxes "
      "left out\n",
      loaded->description.c_str(), to.c_str(), out.c_str(), split.c_str(),
      static_cast<long long>(stats.images), static_cast<long long>(stats.boxes),
      static_cast<long long>(stats.crowd_boxes_left_out));
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv,
      absl::StrCat("convert_dataset <dataset> --to=voc|yolo --out=DIR "
                   "[--split=train] [--digits=9]\n<dataset>:\n",
                   sniper::tools::kDatasetFlagsUsage)
          .c_str());
  return Run();
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
