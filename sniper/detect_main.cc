// bazel run //sniper:detect -- --checkpoint=run/detector/final.pt
//     --image=in.jpg [--out=out.png]
// bazel run //sniper:detect -- --checkpoint=... --image=photos/ --out=dets/
//
// Multi-scale inference (inference/detector.h) with a trained detector, using
// the config saved in its checkpoint (--set overrides inference settings,
// e.g. --set eval.merge=SOFT_NMS --set eval.max_tile_side=2048). One image:
// draws the boxes with class names and scores (and, from a model with the
// mask branch, their masks) into --out. A directory:
// every .jpg/.jpeg/.png in it, pictures into --out/<name>.png, and
// --out/detections.json (COCO results; RLE segmentations with masks) with
// --out/images.json giving each image id's file. --autofocus_map=PATH (one
// image) runs AutoFocus (eval.autofocus, ../shared/docs/AUTOFOCUS.md) and also
// draws, per scale, its focus map, the windows it ran in and the FocusChips it
// chose. The work is sniper/detect_files.h's; this file reads the flags.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "sniper/cli.h"
#include "sniper/detect_files.h"

ABSL_FLAG(std::string, checkpoint, "", "a detector checkpoint (final.pt)");
ABSL_FLAG(std::string, image, "", "an image file, or a directory of images");
ABSL_FLAG(std::string, out, "",
          "image: the PNG to write (default detections.png); directory: the "
          "output directory (default detections/)");
ABSL_FLAG(double, score_threshold, 0.5,
          "draw detections scoring at least this");
ABSL_FLAG(std::string, autofocus_map, "",
          "one image: run AutoFocus and draw its focus maps and FocusChips "
          "per scale into this PNG");
ABSL_FLAG(std::string, device, "",
          "cpu, cuda, cuda:N (default: CUDA if present)");

namespace {

absl::Status Run(std::vector<std::string> sets) {
  sniper::DetectFilesOptions o;
  o.checkpoint = sniper::ResolveUserPath(absl::GetFlag(FLAGS_checkpoint));
  o.input = sniper::ResolveUserPath(absl::GetFlag(FLAGS_image));
  o.out = sniper::ResolveUserPath(absl::GetFlag(FLAGS_out));
  o.score_threshold = absl::GetFlag(FLAGS_score_threshold);
  o.autofocus_map = sniper::ResolveUserPath(absl::GetFlag(FLAGS_autofocus_map));
  o.device = absl::GetFlag(FLAGS_device);
  o.sets = std::move(sets);
  const absl::StatusOr<sniper::DetectFilesReport> r =
      sniper::DetectFiles(o, [&o](const sniper::DetectedFile& f) {
        std::printf("%s: %lld detections, %d drawn (score >= %.2f) -> %s\n",
                    f.name.c_str(), static_cast<long long>(f.detections),
                    f.drawn, o.score_threshold, f.png.c_str());
      });
  if (!r.ok()) return r.status();
  if (!r->autofocus_png.empty()) {
    std::printf("AutoFocus: %s\n", r->autofocus_png.c_str());
  }
  std::printf("%s\n", sniper::FormatDetectCost(*r).c_str());
  if (!r->results_json.empty()) {
    std::printf("COCO results: %s (image ids: %s)\n", r->results_json.c_str(),
                r->images_json.c_str());
  }
  return absl::OkStatus();
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> sets = sniper::InitCli(
      &argc, argv,
      "Detects objects with a trained SNIPER detector.\n"
      "  bazel run //sniper:detect -- --checkpoint=final.pt --image=in.jpg "
      "--out=out.png\n"
      "  bazel run //sniper:detect -- --checkpoint=final.pt --image=dir/ "
      "--out=dets/");
  const absl::Status s = Run(sets);
  if (!s.ok()) return sniper::FailWith(s);
  return 0;
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
