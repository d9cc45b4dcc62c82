// File: masks/rle.cc
#include "masks/rle.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace sniper::masks {
namespace {

uint64_t PixelCount(int32_t height, int32_t width) {
  return static_cast<uint64_t>(std::max(height, 0)) *
         static_cast<uint64_t>(std::max(width, 0));
}

// Walks the runs of one mask: the current value and what is left of the
// current run, skipping runs of length zero.
class RunCursor {
 public:
  explicit RunCursor(const Rle& rle) : counts_(rle.counts) {
    left_ = counts_.empty() ? 0 : counts_[0];
    Skip();
  }
  bool value() const { return value_; }
  uint32_t left() const { return left_; }
  void Advance(uint32_t n) {
    left_ -= n;
    Skip();
  }

 private:
  void Skip() {
    while (left_ == 0 && next_ < counts_.size()) {
      left_ = counts_[next_++];
      value_ = !value_;
    }
  }
  const std::vector<uint32_t>& counts_;
  size_t next_ = 1;
  uint32_t left_ = 0;
  bool value_ = false;
};

// Appends runs of one value to canonical counts.
class RunWriter {
 public:
  void Add(bool value, uint32_t n) {
    if (n == 0) return;
    if (value != value_) {
      counts_.push_back(run_);
      run_ = 0;
      value_ = value;
    }
    run_ += n;
  }
  std::vector<uint32_t> Finish() {
    counts_.push_back(run_);
    return std::move(counts_);
  }

 private:
  std::vector<uint32_t> counts_;
  uint32_t run_ = 0;
  bool value_ = false;
};

// Calls fn(value_a, value_b, n) for consecutive pixel spans over which
// neither mask changes. Both masks must have the same pixel count.
template <typename Fn>
void ForEachSpan(const Rle& a, const Rle& b, Fn fn) {
  RunCursor ca(a), cb(b);
  while (ca.left() > 0 && cb.left() > 0) {
    const uint32_t n = std::min(ca.left(), cb.left());
    fn(ca.value(), cb.value(), n);
    ca.Advance(n);
    cb.Advance(n);
  }
}

Rle Combine(const Rle& a, const Rle& b, bool intersect) {
  RunWriter out;
  ForEachSpan(a, b, [&](bool va, bool vb, uint32_t n) {
    out.Add(intersect ? (va && vb) : (va || vb), n);
  });
  return Rle{a.height, a.width, out.Finish()};
}

}  // namespace

Rle EncodeColumnMajor(absl::Span<const uint8_t> mask, int32_t height,
                      int32_t width) {
  RunWriter out;
  const uint64_t n = std::min<uint64_t>(mask.size(), PixelCount(height, width));
  for (uint64_t i = 0; i < n; ++i) out.Add(mask[i] != 0, 1);
  return Rle{height, width, out.Finish()};
}

Rle EncodeRowMajor(absl::Span<const uint8_t> mask, int32_t height,
                   int32_t width) {
  RunWriter out;
  if (mask.size() >= PixelCount(height, width)) {
    for (int32_t x = 0; x < width; ++x) {
      for (int32_t y = 0; y < height; ++y) {
        out.Add(mask[static_cast<size_t>(y) * width + x] != 0, 1);
      }
    }
  }
  return Rle{height, width, out.Finish()};
}

Rle EncodeCropRowMajor(absl::Span<const uint8_t> crop, int32_t x0, int32_t y0,
                       int32_t crop_width, int32_t crop_height, int32_t height,
                       int32_t width) {
  RunWriter out;
  const uint32_t h = static_cast<uint32_t>(height);
  out.Add(false, static_cast<uint32_t>(x0) * h);
  for (int32_t x = 0; x < crop_width; ++x) {
    out.Add(false, static_cast<uint32_t>(y0));
    for (int32_t y = 0; y < crop_height; ++y) {
      out.Add(crop[static_cast<size_t>(y) * crop_width + x] != 0, 1);
    }
    out.Add(false, h - static_cast<uint32_t>(y0 + crop_height));
  }
  out.Add(false, static_cast<uint32_t>(width - x0 - crop_width) * h);
  return Rle{height, width, out.Finish()};
}

std::vector<uint8_t> DecodeColumnMajor(const Rle& rle) {
  std::vector<uint8_t> mask(PixelCount(rle.height, rle.width), 0);
  size_t pos = 0;
  for (size_t j = 0; j < rle.counts.size() && pos < mask.size(); ++j) {
    const size_t end = std::min<size_t>(mask.size(), pos + rle.counts[j]);
    if (j % 2 == 1) std::fill(mask.begin() + pos, mask.begin() + end, 1);
    pos = end;
  }
  return mask;
}

std::vector<uint8_t> DecodeRowMajor(const Rle& rle) {
  const std::vector<uint8_t> columns = DecodeColumnMajor(rle);
  std::vector<uint8_t> rows(columns.size());
  for (int32_t x = 0; x < rle.width; ++x) {
    for (int32_t y = 0; y < rle.height; ++y) {
      rows[static_cast<size_t>(y) * rle.width + x] =
          columns[static_cast<size_t>(x) * rle.height + y];
    }
  }
  return rows;
}

absl::StatusOr<Rle> RleFromCounts(absl::Span<const int64_t> counts,
                                  int32_t height, int32_t width) {
  Rle rle{height, width, {}};
  rle.counts.reserve(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0 || counts[i] > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("counts[", i, "] = ", counts[i],
                       ": a run length must be in [0, 2^32)"));
    }
    rle.counts.push_back(static_cast<uint32_t>(counts[i]));
  }
  if (absl::Status s = ValidateRle(rle); !s.ok()) return s;
  return rle;
}

absl::Status ValidateRle(const Rle& rle) {
  if (rle.height < 0 || rle.width < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "size [", rle.height, ", ", rle.width, "] must be non-negative"));
  }
  uint64_t sum = 0;
  for (uint32_t c : rle.counts) sum += c;
  const uint64_t pixels = PixelCount(rle.height, rle.width);
  if (sum != pixels) {
    return absl::InvalidArgumentError(
        absl::StrCat("counts sum to ", sum, ", size [", rle.height, ", ",
                     rle.width, "] has ", pixels, " pixels"));
  }
  return absl::OkStatus();
}

uint64_t Area(const Rle& rle) {
  uint64_t area = 0;
  for (size_t j = 1; j < rle.counts.size(); j += 2) area += rle.counts[j];
  return area;
}

MaskBox ToBox(const Rle& rle) {
  // The reference's arithmetic, including its treatment of a run of set
  // pixels that wraps into the next column (the box then spans the full
  // height).
  const size_t m = rle.counts.size() / 2 * 2;
  if (m == 0 || rle.height <= 0) return MaskBox{};
  const uint64_t h = static_cast<uint64_t>(rle.height);
  uint64_t xs = static_cast<uint64_t>(rle.width), ys = h, xe = 0, ye = 0;
  uint64_t cc = 0, xp = 0;
  for (size_t j = 0; j < m; ++j) {
    cc += rle.counts[j];
    const uint64_t t = cc - j % 2;
    const uint64_t y = t % h, x = t / h;
    if (j % 2 == 0) {
      xp = x;
    } else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return MaskBox{static_cast<double>(xs), static_cast<double>(ys),
                 static_cast<double>(xe) - static_cast<double>(xs) + 1,
                 static_cast<double>(ye) - static_cast<double>(ys) + 1};
}

absl::StatusOr<Rle> Merge(absl::Span<const Rle> masks, bool intersect) {
  if (masks.empty()) {
    return absl::InvalidArgumentError("Merge: no masks");
  }
  Rle out = masks[0];
  for (size_t i = 1; i < masks.size(); ++i) {
    if (masks[i].height != out.height || masks[i].width != out.width) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Merge: mask ", i, " is ", masks[i].height, "x", masks[i].width,
          ", mask 0 is ", out.height, "x", out.width));
    }
    out = Combine(out, masks[i], intersect);
  }
  return out;
}

Overlap ComputeOverlap(const Rle& a, const Rle& b) {
  Overlap o;
  ForEachSpan(a, b, [&](bool va, bool vb, uint32_t n) {
    if (va || vb) o.union_area += n;
    if (va && vb) o.intersection += n;
  });
  return o;
}

double Iou(const Rle& detection, const Rle& ground_truth,
           bool ground_truth_is_crowd) {
  if (detection.height != ground_truth.height ||
      detection.width != ground_truth.width) {
    return -1;
  }
  const Overlap o = ComputeOverlap(detection, ground_truth);
  if (o.intersection == 0) return 0;
  const uint64_t denominator =
      ground_truth_is_crowd ? Area(detection) : o.union_area;
  return static_cast<double>(o.intersection) / static_cast<double>(denominator);
}

std::string ToCompressedString(const Rle& rle) {
  std::string s;
  s.reserve(rle.counts.size() * 2);
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2) x -= rle.counts[i - 2];
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic: negative differences keep their sign
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

absl::StatusOr<Rle> RleFromCompressedString(absl::string_view counts,
                                            int32_t height, int32_t width) {
  std::vector<int64_t> decoded;
  size_t p = 0;
  while (p < counts.size()) {
    const size_t start = p;
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= counts.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "compressed counts end inside the count starting at character ",
            start));
      }
      const int c = static_cast<unsigned char>(counts[p]) - 48;
      if (c < 0 || c > 63 || k >= 12) {
        return absl::InvalidArgumentError(
            absl::StrCat("compressed counts: character ", p,
                         c < 0 || c > 63 ? " is outside '0'..'o'"
                                         : " makes the count too long"));
      }
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= -(int64_t{1} << (5 * k));
    }
    if (decoded.size() > 2) x += decoded[decoded.size() - 2];
    decoded.push_back(x);
  }
  absl::StatusOr<Rle> rle = RleFromCounts(decoded, height, width);
  if (!rle.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compressed counts: ", rle.status().message()));
  }
  return rle;
}

}  // namespace sniper::masks
