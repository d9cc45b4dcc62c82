// File: sniper/detect_files.h
//
// What //sniper:detect does, as a library: a trained detector (the config
// saved in its checkpoint, with --set style overrides) on one image file or
// every .jpg/.jpeg/.png of a directory (multi-scale inference,
// inference/detector.h). One image: its picture (boxes with class names and
// scores, masks from a model with the mask branch) at options.out. A
// directory: a picture per image in options.out/, detections.json (COCO
// results) and images.json (each image id's file). With autofocus_map (one
// image) AutoFocus runs and its focus maps, windows and FocusChips per scale
// are drawn there.
//
//   DetectFilesOptions o;
//   o.checkpoint = "run/detector/final.pt";
//   o.input = "photos/";
//   ASSIGN_OR_RETURN(DetectFilesReport r, DetectFiles(o, PrintLine));
#ifndef SNIPER_SNIPER_DETECT_FILES_H_
#define SNIPER_SNIPER_DETECT_FILES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inference/detector.h"

namespace sniper {

struct DetectFilesOptions {
  std::string checkpoint;  // a detector checkpoint (final.pt)
  std::string input;       // an image file or a directory of images
  // The picture (one image; default detections.png) or the output
  // directory (default detections/).
  std::string out;
  double score_threshold = 0.5;   // what is drawn
  std::string autofocus_map;      // one image: AutoFocus's picture here
  std::string device;             // cpu, cuda, cuda:N; empty: CUDA if present
  std::vector<std::string> sets;  // config overrides, "eval.merge=SOFT_NMS"
};

// One image's outcome.
struct DetectedFile {
  std::string name;  // the file's name
  int64_t detections = 0;
  int drawn = 0;    // scoring at least score_threshold
  std::string png;  // its picture
};

struct DetectFilesReport {
  std::vector<DetectedFile> files;
  std::string autofocus_png;  // written with autofocus_map
  // A directory: the COCO results and the image ids' files.
  std::string results_json, images_json;
  double network_seconds = 0;  // in the network (decode and resample not)
  inference::InferenceCost cost;
};

// Runs the detector; `on_file` (optional) hears of each image as it is done.
// Errors name the flag or file at fault; a directory's outputs are written
// only when every image succeeded.
absl::StatusOr<DetectFilesReport> DetectFiles(
    const DetectFilesOptions& options,
    const std::function<void(const DetectedFile&)>& on_file = nullptr);

// "N images, X s/image in the network (decode and resample excluded); " +
// the inference cost.
std::string FormatDetectCost(const DetectFilesReport& report);

}  // namespace sniper

#endif  // SNIPER_SNIPER_DETECT_FILES_H_
