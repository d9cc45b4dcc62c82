// File: masks/segmentation_test.cc
#include "masks/segmentation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "masks/polygon.h"
#include "masks/segmentation_json.h"
#include "simdjson.h"

namespace sniper::masks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Segmentation> Parse(const std::string& json) {
  static simdjson::dom::parser parser;
  simdjson::dom::element v;
  const simdjson::padded_string padded(json);
  if (parser.parse(padded).get(v)) {
    return absl::InvalidArgumentError("test JSON does not parse: " + json);
  }
  return ParseSegmentationJson(v);
}

std::string ParseError(const std::string& json) {
  absl::StatusOr<Segmentation> s = Parse(json);
  return s.ok() ? "(parsed)" : std::string(s.status().message());
}

TEST(SegmentationTest, PolygonsAreKeptFlatAndUnited) {
  absl::StatusOr<Segmentation> s =
      Parse("[[0, 0, 4, 0, 4, 4, 0, 4], [2, 2, 6, 2, 6, 6, 2.5, 6]]");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, Segmentation::Kind::kPolygons);
  ASSERT_EQ(s->num_polygons(), 2u);
  EXPECT_THAT(s->polygon(0), ElementsAre(0, 0, 4, 0, 4, 4, 0, 4));
  EXPECT_THAT(s->polygon(1), ElementsAre(2, 2, 6, 2, 6, 6, 2.5, 6));
  absl::StatusOr<Rle> m = ToRle(*s, 8, 8);
  ASSERT_TRUE(m.ok()) << m.status();
  const Rle a = RleFromPolygon(s->polygon(0), 8, 8);
  const Rle b = RleFromPolygon(s->polygon(1), 8, 8);
  const Overlap o = ComputeOverlap(a, b);
  EXPECT_EQ(Area(*m), o.union_area);
  EXPECT_EQ(Area(*m), Area(a) + Area(b) - o.intersection);
  EXPECT_GT(o.intersection, 0u);
}

TEST(SegmentationTest, UncompressedAndCompressedRleAreTheSameMask) {
  absl::StatusOr<Segmentation> plain =
      Parse(R"({"size": [3, 4], "counts": [2, 3, 1, 4, 2]})");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->kind, Segmentation::Kind::kRle);
  EXPECT_EQ(plain->rle.height, 3);
  EXPECT_EQ(plain->rle.width, 4);
  EXPECT_EQ(Area(plain->rle), 7u);
  const std::string packed = ToCompressedString(plain->rle);
  absl::StatusOr<Segmentation> compressed =
      Parse(R"({"counts": ")" + packed + R"(", "size": [3, 4]})");
  ASSERT_TRUE(compressed.ok()) << compressed.status();
  EXPECT_EQ(compressed->rle, plain->rle);
  // As the reference: an RLE is used as given, at its own size, which must
  // be the image's.
  absl::StatusOr<Rle> m = ToRle(*plain, 3, 4);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, plain->rle);
  EXPECT_THAT(ToRle(*plain, 4, 3).status().message(),
              HasSubstr("RLE size [3, 4] is not the image's [4, 3]"));
}

TEST(SegmentationTest, MalformedValuesNameThePlace) {
  EXPECT_EQ(ParseError(R"([[1, 2, "3", 4, 5, 6]])"),
            "segmentation[0][2]: expected a number, got string");
  EXPECT_EQ(ParseError("[[1, 2, 3, 4, 5]]"),
            "segmentation[0]: odd number of coordinates (5)");
  EXPECT_EQ(ParseError("[[1, 2, 3, 4, 5, 6], 7]"),
            "segmentation[1]: expected a polygon [x0, y0, x1, y1, ...], got "
            "number");
  EXPECT_EQ(ParseError("7"),
            "segmentation: expected polygons or an RLE object, got number");
  EXPECT_EQ(ParseError(R"({"counts": [1]})"),
            "segmentation: RLE without \"size\"");
  EXPECT_EQ(ParseError(R"({"size": [1, 1]})"),
            "segmentation: RLE without \"counts\"");
  EXPECT_EQ(ParseError(R"({"size": [2], "counts": [2]})"),
            "segmentation.size: expected [height, width]");
  EXPECT_EQ(ParseError(R"({"size": [2, -1], "counts": [2]})"),
            "segmentation.size[1]: negative (-1)");
  EXPECT_EQ(ParseError(R"({"size": [2, 2], "counts": [1, 2.5, 1]})"),
            "segmentation.counts[1]: expected an integer, got 2.5");
  EXPECT_EQ(ParseError(R"({"size": [3, 3], "counts": [3, 9]})"),
            "segmentation.counts: counts sum to 12, size [3, 3] has 9 pixels");
  EXPECT_THAT(ParseError(R"({"size": [3, 3], "counts": "9 "})"),
              HasSubstr("segmentation.counts: compressed counts: character 1"));
  EXPECT_EQ(ParseError(R"({"size": [3, 3], "counts": true})"),
            "segmentation.counts: expected an array of run lengths or a "
            "string, got boolean");
}

TEST(SegmentationTest, NoPolygonsIsNoMask) {
  absl::StatusOr<Segmentation> s = Parse("[]");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->num_polygons(), 0u);
  EXPECT_THAT(ToRle(*s, 4, 4).status().message(), HasSubstr("no polygons"));
  EXPECT_THAT(ToRle(Segmentation{}, 4, 4).status().message(),
              HasSubstr("no segmentation"));
}

}  // namespace
}  // namespace sniper::masks
