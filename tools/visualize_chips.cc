// visualize_chips: draws SNIPER's chips and box assignment for one image.
//
//   bazel run //tools:visualize_chips -- --annotations=instances.json
//       --images=<dir> --image_id=N --out=x.png [--config=...]
//       [--proposals=...] [--epoch=0]
//
// or --voc_root=... / --yolo_images=... --yolo_names=... instead of
// --annotations and --images (tools/dataset_flags.h); there the image ids
// are 1, 2, ... in the split's order.
//
// One panel per scale, side by side, each the original image (dimmed) with,
// in original pixels:
//   positive chips of that scale   in the scale's colour (blue, magenta,
//                                  cyan, ...), 3 px
//   negative chips                 yellow, 3 px
//   boxes valid at that scale      green, 2 px
//   boxes ignored at that scale    red, 1 px (out of range or not fitting)
//   crowd boxes                    orange, 1 px
#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "data/proposals.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "tools/dataset_flags.h"
#include "tools/tool_common.h"
#include "viz/draw.h"
#include "viz/plot.h"

ABSL_FLAG(int64_t, image_id, -1,
          "Image id to draw (required; VOC and YOLO: 1, 2, ... in order).");
ABSL_FLAG(std::string, out, "chips.png", "Output PNG.");
ABSL_FLAG(std::string, config, "",
          "ChipSamplerConfig; default: embedded coco_sniper_sampler.pbtxt.");
ABSL_FLAG(std::string, proposals, "", "Proposals file for negative chips.");
ABSL_FLAG(uint64_t, epoch, 0, "Epoch whose chips are drawn.");
ABSL_FLAG(int32_t, max_width, 0,
          "If > 0, shrink the picture (box filter, integer factor) to at "
          "most this width.");

namespace {

using sniper::data::Box;
using sniper::data::RgbImage;

using sniper::viz::Color;

constexpr Color kScaleColors[] = {
    {40, 90, 255}, {230, 40, 230}, {0, 220, 230}, {255, 255, 255}};
constexpr Color kNegative = {255, 230, 0};
constexpr Color kValid = {0, 230, 0};
constexpr Color kIgnored = {255, 30, 30};
constexpr Color kCrowd = {255, 140, 0};

// A box's outline in the pixels it touches.
void DrawBox(RgbImage* img, const Box& b, int thickness, Color c) {
  sniper::viz::DrawRect(img, static_cast<int>(std::floor(b.x1)),
                        static_cast<int>(std::floor(b.y1)),
                        static_cast<int>(std::ceil(b.x2)) - 1,
                        static_cast<int>(std::ceil(b.y2)) - 1, c, thickness);
}

// One scale's panel: the image dimmed, its boxes by what they are at this
// scale, the negative and positive chips in original pixels.
RgbImage DrawScalePanel(const RgbImage& image,
                        const sniper::data::CocoDataset& ds, int64_t index,
                        const sniper::data::ChipSamplerOptions& options, int s,
                        const sniper::data::ImageChips::PerScale& ps) {
  RgbImage panel = image;
  for (uint8_t& v : panel.pixels) v = static_cast<uint8_t>(v * 3 / 5);
  const auto boxes = ds.boxes_of(index);
  const auto crowd = ds.crowd_of(index);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box b = sniper::data::ToCorners(boxes[i]);
    if (crowd[i]) {
      DrawBox(&panel, b, 1, kCrowd);
    } else if (IsValidAtScale(options, s, ps.image, b)) {
      DrawBox(&panel, b, 2, kValid);
    } else {
      DrawBox(&panel, b, 1, kIgnored);
    }
  }
  const double sc = ps.image.scale;
  auto to_original = [&](const sniper::data::Chip& c) {
    return Box{static_cast<float>(c.x1 / sc), static_cast<float>(c.y1 / sc),
               static_cast<float>(c.x2 / sc), static_cast<float>(c.y2 / sc)};
  };
  for (const auto& c : ps.negatives) {
    DrawBox(&panel, to_original(c), 3, kNegative);
  }
  for (const auto& c : ps.positives) {
    DrawBox(&panel, to_original(c), 3, kScaleColors[std::min(s, 3)]);
  }
  return panel;
}

// `canvas` shrunk by the smallest integer factor that fits `max_width`
// (box filter).
RgbImage Downscale(const RgbImage& canvas, int32_t max_width) {
  const int32_t f = (canvas.width + max_width - 1) / max_width;
  RgbImage small;
  small.width = canvas.width / f;
  small.height = canvas.height / f;
  small.pixels.resize(static_cast<size_t>(small.width) * small.height * 3);
  for (int32_t y = 0; y < small.height; ++y) {
    for (int32_t x = 0; x < small.width; ++x) {
      for (int k = 0; k < 3; ++k) {
        int sum = 0;
        for (int32_t dy = 0; dy < f; ++dy) {
          for (int32_t dx = 0; dx < f; ++dx) {
            sum +=
                canvas.pixels[(static_cast<size_t>(y * f + dy) * canvas.width +
                               x * f + dx) *
                                  3 +
                              k];
          }
        }
        small.at(x, y)[k] = static_cast<uint8_t>(sum / (f * f));
      }
    }
  }
  return small;
}

int Run() {
  using sniper::ResolveUserPath;
  const int64_t image_id = absl::GetFlag(FLAGS_image_id);
  if (image_id < 0) {
    std::cerr << "visualize_chips: --image_id is required\n";
    return 2;
  }
  if (absl::Status usage = sniper::tools::CheckDatasetFlags(); !usage.ok()) {
    std::cerr << "visualize_chips: " << usage.message() << "\n";
    return 2;
  }
  auto loaded = sniper::tools::DatasetFromFlags({});
  if (!loaded.ok()) {
    std::cerr << "visualize_chips: " << loaded.status().message() << "\n";
    return 1;
  }
  const sniper::data::CocoDataset* ds = &loaded->dataset;
  const std::string& ann = loaded->description;
  const std::string& dir = loaded->image_dir;
  if (dir.empty()) {
    std::cerr << "visualize_chips: --images is required with --annotations\n";
    return 2;
  }
  const int64_t index = ds->IndexOfImage(image_id);
  if (index < 0) {
    std::cerr << "visualize_chips: " << ann << " has no image with id "
              << image_id << "\n";
    return 1;
  }
  auto options = sniper::tools::SamplerOptionsFromFlag(
      absl::GetFlag(FLAGS_config), sniper::embedded::kCocoSniperSampler,
      "embedded:configs/coco_sniper_sampler.pbtxt");
  if (!options.ok()) {
    std::cerr << "visualize_chips: " << options.status().message() << "\n";
    return 1;
  }
  auto proposals =
      sniper::tools::ProposalsFromFlag(absl::GetFlag(FLAGS_proposals));
  if (!proposals.ok()) {
    std::cerr << "visualize_chips: " << proposals.status().message() << "\n";
    return 1;
  }
  const sniper::data::CocoImage& info = ds->image(index);
  sniper::data::DecodeRequest whole;
  whole.reduce = false;
  auto decoded =
      sniper::data::DecodeImageFileRegion(dir + "/" + info.file_name, whole);
  if (!decoded.ok()) {
    std::cerr << "visualize_chips: " << decoded.status().message() << "\n";
    return 1;
  }
  auto image = &decoded->image;
  if (image->width != info.width || image->height != info.height) {
    std::cerr << "visualize_chips: " << info.file_name << " is " << image->width
              << "x" << image->height << " but " << ann << " says "
              << info.width << "x" << info.height << "\n";
    return 1;
  }
  const sniper::data::ChipSampler sampler(*options);
  sniper::data::CoverScratch cover;
  sniper::data::ImageChips chips;
  sampler.GenerateImageChips(*ds, index, *proposals ? &**proposals : nullptr,
                             absl::GetFlag(FLAGS_epoch), &cover, &chips);

  std::vector<RgbImage> panels;
  for (int s = 0; s < sampler.num_scales(); ++s) {
    const auto& ps = chips.scales[s];
    panels.push_back(DrawScalePanel(*image, *ds, index, *options, s, ps));
    std::cout << "scale " << s << ": x" << ps.image.scale << " ("
              << ps.image.scaled_width << "x" << ps.image.scaled_height << "), "
              << ps.valid_boxes.size() << " valid boxes, "
              << ps.positives.size() << " positive chips, "
              << ps.negatives.size() << " negative chips\n";
  }
  RgbImage canvas =
      sniper::viz::StackHorizontally(panels, /*gap=*/8, {32, 32, 32});
  const int32_t max_width = absl::GetFlag(FLAGS_max_width);
  if (max_width > 0 && canvas.width > max_width) {
    canvas = Downscale(canvas, max_width);
  }
  const std::string out = ResolveUserPath(absl::GetFlag(FLAGS_out));
  const absl::Status status = sniper::data::WritePngFile(out, canvas);
  if (!status.ok()) {
    std::cerr << "visualize_chips: " << status.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  sniper::tools::InitTool(
      argc, argv,
      absl::StrCat("visualize_chips <dataset> --image_id=N --out=x.png\n"
                   "<dataset>:\n",
                   sniper::tools::kDatasetFlagsUsage)
          .c_str());
  return Run();
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
