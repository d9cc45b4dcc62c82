// File: masks/segmentation.h
//
// An annotation's "segmentation" as COCO files hold it, and its mask with
// the reference API's annToRLE semantics:
//   polygons   [[x0, y0, x1, y1, ...], ...]      rasterised at the image's
//              size (masks/polygon.h) and united;
//   RLE        {"size": [h, w], "counts": [...]} (uncompressed: iscrowd
//              annotations) or {"size": [h, w], "counts": "..."}
//              (compressed: results files), as given.
// Polygons are kept flat (one coordinate array, one end offset per
// polygon) in double precision: the rasteriser rounds 5 * x + 0.5, and a
// float would move some coordinates across a rounding boundary.
#ifndef SNIPER_MASKS_SEGMENTATION_H_
#define SNIPER_MASKS_SEGMENTATION_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "masks/rle.h"

namespace sniper::masks {

struct Segmentation {
  enum class Kind : uint8_t { kNone, kPolygons, kRle };
  Kind kind = Kind::kNone;
  // kPolygons: polygon i is coords[ends[i - 1], ends[i]) (from 0 for i = 0).
  std::vector<double> coords;
  std::vector<uint32_t> ends;
  // kRle.
  Rle rle;

  size_t num_polygons() const { return ends.size(); }
  absl::Span<const double> polygon(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return absl::MakeConstSpan(coords).subspan(begin, ends[i] - begin);
  }
  void AddPolygon(absl::Span<const double> xy) {
    coords.insert(coords.end(), xy.begin(), xy.end());
    ends.push_back(static_cast<uint32_t>(coords.size()));
    kind = Kind::kPolygons;
  }
  static Segmentation FromRle(Rle r) {
    Segmentation s;
    s.kind = Kind::kRle;
    s.rle = std::move(r);
    return s;
  }
};

// The mask of an annotation on an image of image_height x image_width.
// Errors: no segmentation (kNone, or no polygons: the reference API fails
// on those), an RLE whose size is not the image's.
absl::StatusOr<Rle> ToRle(const Segmentation& segmentation,
                          int32_t image_height, int32_t image_width);

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_SEGMENTATION_H_
