#include "data/voc_dataset.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/image_io.h"
#include "data/testing/test_images.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

// One <object> element.
std::string Object(const std::string& name, const std::string& box,
                   const std::string& extra = "") {
  return absl::StrCat("  <object>\n    <name>", name, "</name>\n", extra,
                      "    <bndbox>", box, "</bndbox>\n  </object>\n");
}

std::string Box(double xmin, double ymin, double xmax, double ymax) {
  return absl::StrCat("<xmin>", xmin, "</xmin><ymin>", ymin, "</ymin><xmax>",
                      xmax, "</xmax><ymax>", ymax, "</ymax>");
}

std::string Annotation(const std::string& objects, int w = 500, int h = 375,
                       const std::string& filename = "") {
  return absl::StrCat(
      "<?xml version=\"1.0\"?>\n<annotation>\n  <folder>VOC2007</folder>\n",
      filename.empty() ? "" : "  <filename>" + filename + "</filename>\n",
      w > 0 ? absl::StrCat("  <size><width>", w, "</width><height>", h,
                           "</height><depth>3</depth></size>\n")
            : "",
      objects, "</annotation>\n");
}

// A VOC root under the test's temp dir with `xml` per id and the split.
class VocDir {
 public:
  explicit VocDir(const std::string& name)
      : root_(::testing::TempDir() + "/voc_" + name) {
    std::filesystem::remove_all(root_);
    for (const char* d : {"/Annotations", "/ImageSets/Main", "/JPEGImages"}) {
      std::filesystem::create_directories(root_ + d);
    }
  }
  void Add(const std::string& id, const std::string& xml) {
    ASSERT_OK(WriteFileAtomically(root_ + "/Annotations/" + id + ".xml", xml));
  }
  void Split(const std::string& split, const std::string& text) {
    ASSERT_OK(
        WriteFileAtomically(root_ + "/ImageSets/Main/" + split + ".txt", text));
  }
  VocDatasetConfig Config() const {
    VocDatasetConfig c;
    c.set_root(root_);
    return c;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(VocXmlTest, ParsesFieldsSkippingParts) {
  const std::string xml =
      Annotation(Object("dog", Box(48, 240, 195, 371),
                        "    <pose>Left</pose><truncated>1</truncated>"
                        "<difficult>0</difficult>\n") +
                     Object("person", Box(8, 12, 352, 498),
                            "    <difficult>1</difficult>\n"
                            "    <part><name>head</name><bndbox>" +
                                Box(1, 2, 3, 4) + "</bndbox></part>\n"),
                 353, 500, "000001.jpg");
  ASSERT_OK_AND_ASSIGN(VocAnnotation a, ParseVocXml(xml, "000001.xml"));
  EXPECT_EQ(a.filename, "000001.jpg");
  EXPECT_EQ(a.width, 353);
  EXPECT_EQ(a.height, 500);
  ASSERT_EQ(a.objects.size(), 2u);
  EXPECT_EQ(a.objects[0].name, "dog");
  EXPECT_TRUE(a.objects[0].truncated);
  EXPECT_FALSE(a.objects[0].difficult);
  EXPECT_EQ(a.objects[0].xmin, 48);
  EXPECT_EQ(a.objects[0].ymax, 371);
  EXPECT_EQ(a.objects[0].line, 6);  // the <?xml> line is 1
  // The part's name and box do not replace the person's.
  EXPECT_EQ(a.objects[1].name, "person");
  EXPECT_TRUE(a.objects[1].difficult);
  EXPECT_EQ(a.objects[1].xmin, 8);
  EXPECT_EQ(a.objects[1].xmax, 352);
}

TEST(VocXmlTest, BadDocumentsNameFileAndLine) {
  struct Case {
    std::string xml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "a.xml: empty file"},
      {"  \n ", "a.xml: empty file"},
      {"<annotation><size>", "a.xml:1: malformed XML (no element found)"},
      {"<annotation>\n<x></y></annotation>", "a.xml:2: malformed XML"},
      {"<voc></voc>", "a.xml:1: the root element is <voc>"},
      {Annotation("  <object><bndbox>" + Box(1, 1, 5, 5) +
                  "</bndbox></object>\n"),
       "a.xml:5: object 1 (line 5): missing <name>"},
      {Annotation(Object("cat", "<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>")),
       "a.xml:8: object 1 (line 5): missing <bndbox>/<ymax>"},
      {Annotation(Object("cat", Box(1, 1, 5, 5)) +
                  Object("cat",
                         "<xmin>1</xmin><ymin>1</ymin><xmax>abc</xmax>"
                         "<ymax>5</ymax>")),
       "a.xml:11: object 2 (line 9): bndbox/xmax: expected a number, got "
       "'abc'"},
      {Annotation(Object("cat", Box(1, 1, 5, 5) + "<xmin>2</xmin>")),
       "a.xml:7: object 1 (line 5): <bndbox/xmin> appears twice"},
      {Annotation(Object("cat", Box(1, 1, 5, 5), "<name>dog</name>")),
       "<name> appears twice"},
      {Annotation(Object("cat", Box(1, 1, 5, 5), "<difficult>2</difficult>")),
       "difficult: expected 0 or 1, got '2'"},
      {Annotation(Object("", Box(1, 1, 5, 5))),
       "a.xml:6: object 1 (line 5): empty <name>"},
      {"<annotation><size><width>-3</width></size></annotation>",
       "a.xml:1: size/width: expected a whole number of pixels, got '-3'"},
      {"<annotation><filename>a</filename><filename>b</filename>"
       "</annotation>",
       "<filename> appears twice"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        ParseVocXml(c.xml, "a.xml"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.xml;
  }
}

TEST(VocSplitTest, ReadsBoxesClassesDifficultAndEmptyImages) {
  VocDir d("read");
  d.Add("000002", Annotation(Object("person", Box(1, 1, 100, 50)) +
                             Object("cat", Box(11.5, 21, 60, 80),
                                    "<difficult>1</difficult>")));
  d.Add("000001", Annotation(Object("bird", Box(101, 51, 300, 200))));
  d.Add("000003", Annotation(""));  // no objects: kept
  d.Split("trainval", "000002\n000001\n\n000003\n");
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadVocSplit(d.Config(), "trainval", {}, {}));
  // Classes from the data, sorted; split order kept.
  ASSERT_EQ(ds.num_categories(), 3u);
  EXPECT_EQ(ds.categories()[0].name, "bird");
  EXPECT_EQ(ds.categories()[1].name, "cat");
  EXPECT_EQ(ds.categories()[2].name, "person");
  ASSERT_EQ(ds.num_images(), 3u);
  EXPECT_EQ(ds.image(0).file_name, "000002.jpg");
  EXPECT_EQ(ds.image(0).width, 500);
  // Pixels 1..100 are [0, 100) in continuous coordinates.
  const BoxXYWH b = ds.boxes_of(0)[0];
  EXPECT_FLOAT_EQ(b.x, 0);
  EXPECT_FLOAT_EQ(b.y, 0);
  EXPECT_FLOAT_EQ(b.w, 100);
  EXPECT_FLOAT_EQ(b.h, 50);
  EXPECT_EQ(ds.labels_of(0)[0], 2);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[1].x, 10.5f);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[1].w, 49.5f);
  EXPECT_EQ(ds.crowd_of(0)[0], 0);
  EXPECT_EQ(ds.crowd_of(0)[1], 1);  // difficult: an ignore region
  EXPECT_EQ(ds.labels_of(1)[0], 0);
  EXPECT_EQ(ds.boxes_of(2).size(), 0u);
  EXPECT_EQ(ds.stats().annotations, 3);
  EXPECT_EQ(ds.stats().crowd_boxes, 1);
  EXPECT_EQ(ds.stats().images_without_boxes, 1);

  // difficult_as_ignore off: an ordinary box. A fixed class list sets the
  // labels.
  VocDatasetConfig plain = d.Config();
  plain.set_difficult_as_ignore(false);
  const std::vector<std::string> classes = {"person", "cat", "bird", "dog"};
  ASSERT_OK_AND_ASSIGN(CocoDataset p,
                       ReadVocSplit(plain, "trainval", classes, {}));
  EXPECT_EQ(p.crowd_of(0)[1], 0);
  EXPECT_EQ(p.num_categories(), 4u);
  EXPECT_EQ(p.labels_of(0)[0], 0);
  EXPECT_EQ(p.labels_of(0)[1], 1);
  EXPECT_EQ(p.categories()[3].name, "dog");
}

TEST(VocSplitTest, SizeFromTheImageHeaderWhenAbsent) {
  VocDir d("nosize");
  d.Add("a", Annotation(Object("cat", Box(1, 1, 10, 10)), 0, 0, "a.png"));
  d.Split("train", "a\n");
  ASSERT_OK(WritePngFile(d.root() + "/JPEGImages/a.png",
                         testing::RandomImage(37, 21, 1)));
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadVocSplit(d.Config(), "train", {}, {}));
  EXPECT_EQ(ds.image(0).width, 37);
  EXPECT_EQ(ds.image(0).height, 21);
  // Neither a size nor an image.
  d.Add("b", Annotation(Object("cat", Box(1, 1, 10, 10)), 0));
  d.Split("train", "a\nb\n");
  EXPECT_THAT(ReadVocSplit(d.Config(), "train", {}, {}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("Annotations/b.xml: no <size>, and reading "
                                 "it from the image failed")));
}

TEST(VocSplitTest, BadSplitsAndBoxesNameFileAndLine) {
  VocDir d("bad");
  d.Add("a", Annotation(Object("cat", Box(1, 1, 10, 10))));
  d.Add("wide", Annotation(Object("cat", Box(1, 1, 600, 10))));
  d.Add("dog", Annotation(Object("dog", Box(1, 1, 10, 10))));
  d.Add("empty", "");
  const std::vector<std::string> cat = {"cat"};
  struct Case {
    std::string split;
    absl::StatusCode code;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"a\nmissing\n", absl::StatusCode::kNotFound,
       "Main/s.txt:2: image 'missing': "},
      {"a\na\n", absl::StatusCode::kInvalidArgument,
       "s.txt:2: image id 'a' repeated (first at line 1)"},
      {"a  1\n", absl::StatusCode::kInvalidArgument,
       "s.txt:1: expected one image id per line"},
      {"\n\n", absl::StatusCode::kInvalidArgument, "s.txt: no image ids"},
      {"wide\n", absl::StatusCode::kInvalidArgument,
       "Annotations/wide.xml:5: object 1: box [0, 0, 600, 10] lies outside "
       "image wide.jpg (500x375)"},
      {"a\ndog\n", absl::StatusCode::kInvalidArgument,
       "Annotations/dog.xml:5: object 1: unknown class 'dog'"},
      {"empty\n", absl::StatusCode::kInvalidArgument,
       "Annotations/empty.xml: empty file"},
  };
  for (const Case& c : cases) {
    d.Split("s", c.split);
    EXPECT_THAT(ReadVocSplit(d.Config(), "s", cat, {}),
                StatusIs(c.code, HasSubstr(c.error)))
        << c.split;
  }
  EXPECT_THAT(ReadVocSplit(d.Config(), "nosuch", cat, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nosuch.txt")));
  // Skipping invalid boxes instead: counted, the image kept.
  d.Split("s", "a\nwide\n");
  CocoReaderOptions skip;
  skip.invalid_box_policy = InvalidBoxPolicy::kSkip;
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadVocSplit(d.Config(), "s", cat, skip));
  EXPECT_EQ(ds.num_images(), 2u);
  EXPECT_EQ(ds.num_boxes(), 1u);
  EXPECT_EQ(ds.stats().skipped_invalid_boxes, 1);
  EXPECT_EQ(ds.stats().images_without_boxes, 1);
}

}  // namespace
}  // namespace sniper::data
