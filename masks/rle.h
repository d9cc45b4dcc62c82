// File: masks/rle.h
//
// Binary masks as COCO run-length encodings (RLE), with the reference COCO
// API's semantics (pycocotools' mask API), so that areas, boxes and IoUs
// computed here equal the reference's.
//
// Pixels are taken in column-major order (down the first column, then the
// next: index x * height + y), and `counts` alternates runs of 0s and 1s,
// starting with 0s: a mask whose first pixel is set starts with a 0 count.
// The counts sum to height * width. Runs of length zero inside the counts
// are allowed (they flip the value twice) as in the reference, which keeps
// uncompressed RLEs of annotation files as given; everything computed here
// is canonical (no zero runs but possibly the first).
//
// Everything works on the runs, never on dense pixels, except the explicit
// Encode/Decode: intersections and unions cost O(runs of both masks).
//
//   Rle a = EncodeRowMajor(pixels, h, w);
//   double iou = Iou(detection, ground_truth, /*crowd=*/false);
//   std::string s = ToCompressedString(a);  // as in COCO results files
#ifndef SNIPER_MASKS_RLE_H_
#define SNIPER_MASKS_RLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sniper::masks {

struct Rle {
  int32_t height = 0;
  int32_t width = 0;
  std::vector<uint32_t> counts;

  bool operator==(const Rle& o) const {
    return height == o.height && width == o.width && counts == o.counts;
  }
  bool operator!=(const Rle& o) const { return !(*this == o); }
};

// The reference API's toBbox: the tightest [x, y, w, h] of the set pixels
// in pixel units (a single pixel at (x, y) is [x, y, 1, 1]); all zeros for
// an empty mask.
struct MaskBox {
  double x = 0, y = 0, w = 0, h = 0;
};

// Dense masks: one byte per pixel, nonzero is set.
Rle EncodeColumnMajor(absl::Span<const uint8_t> mask, int32_t height,
                      int32_t width);
Rle EncodeRowMajor(absl::Span<const uint8_t> mask, int32_t height,
                   int32_t width);
// A mask that is clear outside the crop [x0, x0 + crop_width) x
// [y0, y0 + crop_height) of a height x width image, from the crop's pixels
// (row-major); costs the crop, not the image. The crop must lie inside.
Rle EncodeCropRowMajor(absl::Span<const uint8_t> crop, int32_t x0, int32_t y0,
                       int32_t crop_width, int32_t crop_height, int32_t height,
                       int32_t width);
// 0/1 bytes.
std::vector<uint8_t> DecodeColumnMajor(const Rle& rle);
std::vector<uint8_t> DecodeRowMajor(const Rle& rle);

// An uncompressed RLE as annotation files hold it ({"size": [h, w],
// "counts": [...]}): counts must be non-negative, fit 32 bits and sum to
// h * w. Errors say which.
absl::StatusOr<Rle> RleFromCounts(absl::Span<const int64_t> counts,
                                  int32_t height, int32_t width);
// The same checks on an Rle built elsewhere.
absl::Status ValidateRle(const Rle& rle);

// Set pixels.
uint64_t Area(const Rle& rle);
MaskBox ToBox(const Rle& rle);

// Union or intersection of masks of one size (InvalidArgument otherwise);
// an empty list is an error. One mask is returned as given.
absl::StatusOr<Rle> Merge(absl::Span<const Rle> masks, bool intersect);

struct Overlap {
  uint64_t intersection = 0;
  uint64_t union_area = 0;
};
// Pixels set in both and in either; the masks must have one size.
Overlap ComputeOverlap(const Rle& a, const Rle& b);

// The reference's rleIou for one pair: intersection over union, or over
// the detection's area when the ground truth is a crowd region; 0 when they
// do not intersect; -1 when the sizes differ (never a match).
double Iou(const Rle& detection, const Rle& ground_truth,
           bool ground_truth_is_crowd);

// COCO's compressed counts string (results files, iscrowd annotations):
// each count (from the fourth on, as the difference to the count two
// before) in 5-bit groups, least significant first, 0x20 marking "more",
// 0x10 of the last group the sign, offset by 48 ('0').
std::string ToCompressedString(const Rle& rle);
// Parses one; the decoded counts must be valid for height x width
// (RleFromCounts), and a truncated or out-of-range string is an error
// naming the offending character position.
absl::StatusOr<Rle> RleFromCompressedString(absl::string_view counts,
                                            int32_t height, int32_t width);

}  // namespace sniper::masks

#endif  // SNIPER_MASKS_RLE_H_
