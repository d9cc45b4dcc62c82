#include "inference/views.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "data/chips.h"
#include "port/status_macros.h"

namespace sniper::inference {
namespace {

int32_t RoundUp(int32_t v, int32_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

// [lo, hi) grown to `side` about its centre, shifted into [0, limit).
std::pair<int32_t, int32_t> GrowSpan(int32_t lo, int32_t hi, int32_t side,
                                     int32_t limit) {
  side = std::min(side, limit);
  if (hi - lo >= side) return {lo, hi};
  int32_t start = lo - (side - (hi - lo)) / 2;
  start = std::clamp(start, 0, limit - side);
  return {start, start + side};
}

// The render options of a window's canvas: its sides rounded up to
// `multiple`.
data::ChipRenderOptions CanvasFor(const data::Chip& window,
                                  const data::ChipRenderOptions& base,
                                  int32_t multiple) {
  data::ChipRenderOptions render = base;
  render.canvas_width = RoundUp(window.x2 - window.x1, multiple);
  render.canvas_height = RoundUp(window.y2 - window.y1, multiple);
  render.chip_size = std::max(render.canvas_width, render.canvas_height);
  render.layout = data::ChipLayout::kChwFloat32;
  return render;
}

}  // namespace

ImageSource ImageOf(const data::CocoDataset& dataset,
                    const std::string& image_dir, size_t index) {
  const data::CocoImage& im = dataset.image(index);
  ImageSource out;
  out.path = absl::StrCat(image_dir, "/", im.file_name);
  out.width = im.width;
  out.height = im.height;
  const absl::Span<const data::BoxXYWH> boxes = dataset.boxes_of(index);
  const absl::Span<const uint8_t> crowd = dataset.crowd_of(index);
  out.ground_truth.reserve(boxes.size());
  for (size_t k = 0; k < boxes.size(); ++k) {
    const data::BoxXYWH& b = boxes[k];
    out.ground_truth.push_back({b.x, b.y, b.x + b.w, b.y + b.h, crowd[k] != 0});
  }
  return out;
}

absl::StatusOr<ImageSource> ImageOfFile(const std::string& path) {
  data::DecodeRequest probe;
  probe.scale = 0.125;  // only the size is needed
  ASSIGN_OR_RETURN(const data::DecodedRegion r,
                   data::DecodeImageFileRegion(path, probe));
  ImageSource out;
  out.path = path;
  out.width = r.full_width;
  out.height = r.full_height;
  return out;
}

std::vector<data::Chip> RegionWindows(const data::Chip& region,
                                      int32_t max_tile_side, int32_t overlap) {
  const int32_t w = region.x2 - region.x1, h = region.y2 - region.y1;
  if (max_tile_side <= 0 || std::max(w, h) <= max_tile_side) return {region};
  std::vector<int32_t> xs, ys;
  const int32_t step = max_tile_side - overlap;
  const int32_t tw = data::CandidatePositions(w, max_tile_side, step, &xs);
  const int32_t th = data::CandidatePositions(h, max_tile_side, step, &ys);
  std::vector<data::Chip> out;
  for (int32_t y : ys) {
    for (int32_t x : xs) {
      out.push_back({region.x1 + x, region.y1 + y, region.x1 + x + tw,
                     region.y1 + y + th});
    }
  }
  return out;
}

std::vector<data::Chip> ViewWindows(const data::ImageAtScale& at,
                                    int32_t max_tile_side, int32_t overlap) {
  return RegionWindows(data::Chip{0, 0, at.scaled_width, at.scaled_height},
                       max_tile_side, overlap);
}

data::Chip GrowToCanvas(const data::Chip& window, int32_t multiple,
                        int32_t width, int32_t height) {
  const auto [x1, x2] = GrowSpan(
      window.x1, window.x2, RoundUp(window.x2 - window.x1, multiple), width);
  const auto [y1, y2] = GrowSpan(
      window.y1, window.y2, RoundUp(window.y2 - window.y1, multiple), height);
  return {x1, y1, x2, y2};
}

absl::StatusOr<data::DecodedRegion> DecodeImage(
    const ImageSource& image, const data::DecodeRequest& request) {
  ASSIGN_OR_RETURN(data::DecodedRegion region,
                   data::DecodeImageFileRegion(image.path, request));
  if (region.full_width != image.width || region.full_height != image.height) {
    return absl::DataLossError(absl::StrCat(
        image.path, ": image is ", region.full_width, "x", region.full_height,
        " but the annotations say ", image.width, "x", image.height));
  }
  return region;
}

ScaledView RenderViewFrom(const data::DecodedRegion& decoded,
                          const data::ImageAtScale& at, int scale_index,
                          const data::Chip& window,
                          const data::ChipRenderOptions& base,
                          int32_t canvas_multiple) {
  ScaledView view;
  view.scale_index = scale_index;
  view.at = at;
  view.window = window;
  const data::ChipRenderOptions render =
      CanvasFor(window, base, canvas_multiple);
  view.pixels = torch::empty({1, 3, render.canvas_height, render.canvas_width});
  data::RenderChip(decoded, window, at.scale, /*flip=*/false, render,
                   view.pixels.data_ptr());
  return view;
}

absl::StatusOr<ScaledView> RenderView(const ImageSource& image,
                                      const data::ImageAtScale& at,
                                      int scale_index, const data::Chip& window,
                                      const data::ChipRenderOptions& render,
                                      int32_t canvas_multiple) {
  ASSIGN_OR_RETURN(const data::DecodedRegion decoded,
                   DecodeImage(image, data::ChipDecodeRequest(at, window)));
  return RenderViewFrom(decoded, at, scale_index, window, render,
                        canvas_multiple);
}

}  // namespace sniper::inference
