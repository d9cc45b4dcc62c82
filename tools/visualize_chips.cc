// visualize_chips: draws SNIPER's chips and box assignment for one image.
//
//   bazel run //tools:visualize_chips -- --annotations=instances.json
//       --images=<dir> --image_id=N --out=x.png [--config=...]
//       [--proposals=...] [--epoch=0]
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

#include "absl/flags/flag.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/image_decode.h"
#include "data/image_io.h"
#include "data/proposals.h"
#include "port/paths.h"
#include "tools/tool_common.h"

ABSL_FLAG(std::string, annotations, "", "COCO instances JSON (required).");
ABSL_FLAG(std::string, images, "", "Directory of the image files (required).");
ABSL_FLAG(int64_t, image_id, -1, "COCO image id to draw (required).");
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

struct Color {
  uint8_t r, g, b;
};

constexpr Color kScaleColors[] = {
    {40, 90, 255}, {230, 40, 230}, {0, 220, 230}, {255, 255, 255}};
constexpr Color kNegative = {255, 230, 0};
constexpr Color kValid = {0, 230, 0};
constexpr Color kIgnored = {255, 30, 30};
constexpr Color kCrowd = {255, 140, 0};

void DrawRect(RgbImage* img, int x_offset, const Box& b, int thickness, Color c,
              int panel_width) {
  const int x1 = static_cast<int>(std::floor(b.x1));
  const int y1 = static_cast<int>(std::floor(b.y1));
  const int x2 = static_cast<int>(std::ceil(b.x2)) - 1;
  const int y2 = static_cast<int>(std::ceil(b.y2)) - 1;
  auto put = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= panel_width || y >= img->height) return;
    uint8_t* p = img->at(x + x_offset, y);
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  };
  for (int t = 0; t < thickness; ++t) {
    for (int x = x1; x <= x2; ++x) {
      put(x, y1 + t);
      put(x, y2 - t);
    }
    for (int y = y1; y <= y2; ++y) {
      put(x1 + t, y);
      put(x2 - t, y);
    }
  }
}

int Run() {
  using sniper::ResolveUserPath;
  const std::string ann = ResolveUserPath(absl::GetFlag(FLAGS_annotations));
  const std::string dir = ResolveUserPath(absl::GetFlag(FLAGS_images));
  const int64_t image_id = absl::GetFlag(FLAGS_image_id);
  if (ann.empty() || dir.empty() || image_id < 0) {
    std::cerr << "visualize_chips: --annotations, --images and --image_id are "
                 "required\n";
    return 2;
  }
  auto ds = sniper::data::ReadCocoInstances(ann, {});
  if (!ds.ok()) {
    std::cerr << "visualize_chips: " << ds.status().message() << "\n";
    return 1;
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
  sniper::data::GreedyChipCover cover;
  sniper::data::ImageChips chips;
  sampler.GenerateImageChips(*ds, index, *proposals ? &**proposals : nullptr,
                             absl::GetFlag(FLAGS_epoch), &cover, &chips);

  const int panels = sampler.num_scales();
  const int gap = 8;
  const int w = image->width, h = image->height;
  RgbImage canvas;
  canvas.width = panels * w + (panels - 1) * gap;
  canvas.height = h;
  canvas.pixels.assign(static_cast<size_t>(canvas.width) * h * 3, 32);
  const auto boxes = ds->boxes_of(index);
  const auto crowd = ds->crowd_of(index);
  for (int s = 0; s < panels; ++s) {
    const int x0 = s * (w + gap);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const uint8_t* src = image->at(x, y);
        uint8_t* dst = canvas.at(x0 + x, y);
        for (int k = 0; k < 3; ++k)
          dst[k] = static_cast<uint8_t>(src[k] * 3 / 5);
      }
    }
    const auto& ps = chips.scales[s];
    const double sc = ps.image.scale;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const Box b = sniper::data::ToCorners(boxes[i]);
      if (crowd[i]) {
        DrawRect(&canvas, x0, b, 1, kCrowd, w);
      } else if (IsValidAtScale(sampler.options(), s, ps.image, b)) {
        DrawRect(&canvas, x0, b, 2, kValid, w);
      } else {
        DrawRect(&canvas, x0, b, 1, kIgnored, w);
      }
    }
    auto to_original = [&](const sniper::data::Chip& c) {
      return Box{static_cast<float>(c.x1 / sc), static_cast<float>(c.y1 / sc),
                 static_cast<float>(c.x2 / sc), static_cast<float>(c.y2 / sc)};
    };
    for (const auto& c : ps.negatives) {
      DrawRect(&canvas, x0, to_original(c), 3, kNegative, w);
    }
    for (const auto& c : ps.positives) {
      DrawRect(&canvas, x0, to_original(c), 3, kScaleColors[std::min(s, 3)], w);
    }
    std::cout << "scale " << s << ": x" << sc << " (" << ps.image.scaled_width
              << "x" << ps.image.scaled_height << "), " << ps.valid_boxes.size()
              << " valid boxes, " << ps.positives.size() << " positive chips, "
              << ps.negatives.size() << " negative chips\n";
  }
  const int32_t max_width = absl::GetFlag(FLAGS_max_width);
  if (max_width > 0 && canvas.width > max_width) {
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
              sum += canvas.at(x * f + dx, y * f + dy)[k];
            }
          }
          small.at(x, y)[k] = static_cast<uint8_t>(sum / (f * f));
        }
      }
    }
    canvas = std::move(small);
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

int main(int argc, char** argv) {
  sniper::tools::InitTool(argc, argv,
                          "visualize_chips --annotations=... --images=DIR "
                          "--image_id=N --out=x.png");
  return Run();
}
