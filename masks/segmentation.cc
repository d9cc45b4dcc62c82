// File: masks/segmentation.cc
#include "masks/segmentation.h"

#include "absl/strings/str_cat.h"
#include "masks/polygon.h"

namespace sniper::masks {

absl::StatusOr<Rle> ToRle(const Segmentation& s, int32_t image_height,
                          int32_t image_width) {
  switch (s.kind) {
    case Segmentation::Kind::kNone:
      return absl::InvalidArgumentError("no segmentation");
    case Segmentation::Kind::kRle:
      if (s.rle.height != image_height || s.rle.width != image_width) {
        return absl::InvalidArgumentError(absl::StrCat(
            "RLE size [", s.rle.height, ", ", s.rle.width,
            "] is not the image's [", image_height, ", ", image_width, "]"));
      }
      return s.rle;
    case Segmentation::Kind::kPolygons:
      break;
  }
  if (s.num_polygons() == 0) {
    return absl::InvalidArgumentError("segmentation has no polygons");
  }
  std::vector<Rle> parts;
  parts.reserve(s.num_polygons());
  for (size_t i = 0; i < s.num_polygons(); ++i) {
    parts.push_back(RleFromPolygon(s.polygon(i), image_height, image_width));
  }
  return Merge(parts, /*intersect=*/false);
}

}  // namespace sniper::masks
