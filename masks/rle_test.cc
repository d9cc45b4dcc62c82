// File: masks/rle_test.cc
#include "masks/rle.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sniper::masks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A row-major mask from text rows ('#' set, '.' clear).
std::vector<uint8_t> Rows(const std::vector<std::string>& rows) {
  std::vector<uint8_t> m;
  for (const std::string& r : rows) {
    for (char c : r) m.push_back(c == '#');
  }
  return m;
}

std::vector<uint8_t> RandomMask(std::mt19937* rng, int h, int w,
                                double density) {
  // Blobs of runs rather than noise, so masks have long and short runs.
  std::vector<uint8_t> m(static_cast<size_t>(h) * w, 0);
  std::bernoulli_distribution flip(density);
  uint8_t v = 0;
  for (auto& p : m) {
    if (flip(*rng)) v = !v;
    p = v;
  }
  return m;
}

TEST(RleTest, EncodesColumnMajorStartingWithZeros) {
  // 3 rows x 2 columns; column 0 is (., #, #), column 1 is (#, ., .).
  const std::vector<uint8_t> m = Rows({".#", "#.", "#."});
  const Rle rle = EncodeRowMajor(m, 3, 2);
  EXPECT_THAT(rle.counts, ElementsAre(1, 3, 2));
  EXPECT_EQ(Area(rle), 3u);
  EXPECT_EQ(DecodeRowMajor(rle), m);
  // A mask whose first pixel is set starts with an empty run of zeros.
  const Rle first = EncodeRowMajor(Rows({"#.", "..", ".."}), 3, 2);
  EXPECT_THAT(first.counts, ElementsAre(0, 1, 5));
  const Rle empty = EncodeRowMajor(Rows({"..", "..", ".."}), 3, 2);
  EXPECT_THAT(empty.counts, ElementsAre(6));
  EXPECT_EQ(Area(empty), 0u);
}

TEST(RleTest, RoundTripsRandomMasksBothLayouts) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int h = 1 + trial % 17, w = 1 + (trial * 7) % 23;
    const std::vector<uint8_t> m = RandomMask(&rng, h, w, 0.2);
    const Rle r = EncodeRowMajor(m, h, w);
    ASSERT_EQ(DecodeRowMajor(r), m);
    ASSERT_TRUE(ValidateRle(r).ok());
    uint64_t set = 0;
    for (uint8_t p : m) set += p;
    ASSERT_EQ(Area(r), set);
    // Column-major encoding of the transposed buffer is the same RLE.
    std::vector<uint8_t> cols(m.size());
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) cols[x * h + y] = m[y * w + x];
    }
    ASSERT_EQ(EncodeColumnMajor(cols, h, w), r);
    ASSERT_EQ(DecodeColumnMajor(r), cols);
  }
}

TEST(RleTest, CropEncodingEqualsTheFullImagesEncoding) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 200; ++trial) {
    const int h = 1 + trial % 11, w = 1 + (trial * 3) % 13;
    const int cw = 1 + static_cast<int>(rng() % w);
    const int ch = 1 + static_cast<int>(rng() % h);
    const int x0 = static_cast<int>(rng() % (w - cw + 1));
    const int y0 = static_cast<int>(rng() % (h - ch + 1));
    const std::vector<uint8_t> crop = RandomMask(&rng, ch, cw, 0.3);
    std::vector<uint8_t> full(static_cast<size_t>(h) * w, 0);
    for (int y = 0; y < ch; ++y) {
      for (int x = 0; x < cw; ++x)
        full[(y0 + y) * w + x0 + x] = crop[y * cw + x];
    }
    ASSERT_EQ(EncodeCropRowMajor(crop, x0, y0, cw, ch, h, w),
              EncodeRowMajor(full, h, w))
        << trial;
  }
}

TEST(RleTest, BoxIsTightAndSpansColumnsAsTheReference) {
  const Rle r = EncodeRowMajor(Rows({"....",  //
                                     "..#.",  //
                                     ".##.",  //
                                     "...."}),
                               4, 4);
  const MaskBox b = ToBox(r);
  EXPECT_EQ(b.x, 1);
  EXPECT_EQ(b.y, 1);
  EXPECT_EQ(b.w, 2);
  EXPECT_EQ(b.h, 2);
  // A run that wraps from the bottom of column 1 to the top of column 2:
  // rows 3 and 0 only, but the reference's box spans the full height.
  const Rle wrap = EncodeRowMajor(Rows({"..#.",  //
                                        "....",  //
                                        "....",  //
                                        ".#.."}),
                                  4, 4);
  const MaskBox bw = ToBox(wrap);
  EXPECT_EQ(bw.x, 1);
  EXPECT_EQ(bw.y, 0);
  EXPECT_EQ(bw.w, 2);
  EXPECT_EQ(bw.h, 4);
  const MaskBox none = ToBox(EncodeRowMajor(Rows({"..", ".."}), 2, 2));
  EXPECT_EQ(none.w, 0);
  EXPECT_EQ(none.h, 0);
}

TEST(RleTest, OverlapAndIouOnHandComputedMasks) {
  const Rle a = EncodeRowMajor(Rows({"##..",  //
                                     "##..",  //
                                     "...."}),
                               3, 4);
  const Rle b = EncodeRowMajor(Rows({".##.",  //
                                     ".##.",  //
                                     ".##."}),
                               3, 4);
  const Overlap o = ComputeOverlap(a, b);
  EXPECT_EQ(o.intersection, 2u);
  EXPECT_EQ(o.union_area, 8u);
  EXPECT_DOUBLE_EQ(Iou(a, b, false), 2.0 / 8.0);
  // Crowd ground truth: intersection over the detection's area.
  EXPECT_DOUBLE_EQ(Iou(a, b, true), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(Iou(b, a, true), 2.0 / 6.0);
  const Rle far = EncodeRowMajor(Rows({"....", "....", "...#"}), 3, 4);
  EXPECT_EQ(Iou(a, far, false), 0);
  EXPECT_EQ(Iou(a, far, true), 0);
  EXPECT_EQ(Iou(a, a, false), 1);
  const Rle other_size = EncodeRowMajor(Rows({"##", "##"}), 2, 2);
  EXPECT_EQ(Iou(a, other_size, false), -1);
}

TEST(RleTest, MergeAndOverlapAgreeWithDensePixelsOnRandomMasks) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    const int h = 1 + trial % 13, w = 1 + (trial * 5) % 19;
    const auto ma = RandomMask(&rng, h, w, 0.15);
    const auto mb = RandomMask(&rng, h, w, 0.3);
    const auto mc = RandomMask(&rng, h, w, 0.05);
    const Rle a = EncodeRowMajor(ma, h, w), b = EncodeRowMajor(mb, h, w),
              c = EncodeRowMajor(mc, h, w);
    std::vector<uint8_t> u(ma.size()), in(ma.size());
    uint64_t i2 = 0, u2 = 0;
    for (size_t p = 0; p < ma.size(); ++p) {
      u[p] = ma[p] | mb[p] | mc[p];
      in[p] = ma[p] & mb[p] & mc[p];
      i2 += ma[p] & mb[p];
      u2 += ma[p] | mb[p];
    }
    const std::vector<Rle> all = {a, b, c};
    absl::StatusOr<Rle> merged = Merge(all, false);
    ASSERT_TRUE(merged.ok());
    ASSERT_EQ(*merged, EncodeRowMajor(u, h, w)) << "canonical union";
    absl::StatusOr<Rle> common = Merge(all, true);
    ASSERT_TRUE(common.ok());
    ASSERT_EQ(*common, EncodeRowMajor(in, h, w)) << "canonical intersection";
    const Overlap o = ComputeOverlap(a, b);
    ASSERT_EQ(o.intersection, i2);
    ASSERT_EQ(o.union_area, u2);
    const double want = i2 == 0 ? 0.0 : static_cast<double>(i2) / u2;
    ASSERT_EQ(Iou(a, b, false), want);
  }
}

TEST(RleTest, ZeroRunsInsideCountsAreHonoured) {
  // Annotation files may hold zero-length runs; they flip twice.
  absl::StatusOr<Rle> r = RleFromCounts({2, 1, 0, 1, 2}, 3, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Area(*r), 2u);
  EXPECT_THAT(DecodeColumnMajor(*r), ElementsAre(0, 0, 1, 1, 0, 0));
  const Rle canonical = EncodeColumnMajor(DecodeColumnMajor(*r), 3, 2);
  EXPECT_EQ(ComputeOverlap(*r, canonical).intersection, 2u);
  EXPECT_EQ(Iou(*r, canonical, false), 1);
  absl::StatusOr<Rle> merged = Merge(std::vector<Rle>{*r, canonical}, false);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, canonical);
}

TEST(RleTest, RejectsCountsThatDoNotFitTheSize) {
  EXPECT_THAT(RleFromCounts({2, 3}, 2, 2).status().message(),
              HasSubstr("counts sum to 5, size [2, 2] has 4 pixels"));
  EXPECT_THAT(RleFromCounts({2, -1, 3}, 2, 2).status().message(),
              HasSubstr("counts[1] = -1"));
  EXPECT_THAT(RleFromCounts({int64_t{1} << 33}, 1, 1).status().message(),
              HasSubstr("counts[0]"));
  EXPECT_THAT(Merge({}, false).status().message(), HasSubstr("no masks"));
  const std::vector<Rle> sizes = {Rle{2, 2, {4}}, Rle{2, 3, {6}}};
  EXPECT_THAT(Merge(sizes, false).status().message(),
              HasSubstr("mask 1 is 2x3, mask 0 is 2x2"));
}

TEST(RleTest, CompressedStringsMatchHandEncodedValues) {
  // 0..15 -> one character '0' + x; 16..31 need a continuation (the 0x10
  // bit would read as a sign); differences from the fourth count on.
  EXPECT_EQ(ToCompressedString(Rle{4, 1, {0, 4}}), "04");
  EXPECT_EQ(ToCompressedString(Rle{1, 20, {20}}), "d0");
  // counts 3, 5, 2, 1: the fourth is stored as 1 - 5 = -4: 0x1c -> 'L'.
  EXPECT_EQ(ToCompressedString(Rle{11, 1, {3, 5, 2, 1}}), "352L");
  absl::StatusOr<Rle> back = RleFromCompressedString("352L", 11, 1);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->counts, ElementsAre(3, 5, 2, 1));
}

TEST(RleTest, CompressedStringsRoundTripLargeAndRandomCounts) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> len(0, 1u << 20);
  for (int trial = 0; trial < 500; ++trial) {
    Rle r{1, 0, {}};
    const int n = 1 + trial % 40;
    uint64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      // Mix tiny and huge runs so differences are large and negative.
      const uint32_t c = (i + trial) % 3 == 0 ? len(rng) : len(rng) % 40;
      r.counts.push_back(c);
      sum += c;
    }
    r.width = static_cast<int32_t>(sum);
    const std::string s = ToCompressedString(r);
    for (char ch : s) ASSERT_TRUE(ch >= '0' && ch <= 'o') << s;
    absl::StatusOr<Rle> back = RleFromCompressedString(s, r.height, r.width);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, r);
  }
}

TEST(RleTest, RejectsMalformedCompressedStrings) {
  // '`' (0x30 + 0x30) has the continuation bit and nothing follows.
  EXPECT_THAT(RleFromCompressedString("3`", 3, 1).status().message(),
              HasSubstr("end inside the count starting at character 1"));
  EXPECT_THAT(RleFromCompressedString("3 ", 3, 1).status().message(),
              HasSubstr("character 1 is outside"));
  EXPECT_THAT(RleFromCompressedString("34", 3, 1).status().message(),
              HasSubstr("counts sum to 7"));
  EXPECT_THAT(RleFromCompressedString("0L", 3, 1).status().message(),
              HasSubstr("counts[1] = -4"));
}

}  // namespace
}  // namespace sniper::masks
