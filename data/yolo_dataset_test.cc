#include "data/yolo_dataset.h"

#include <filesystem>
#include <string>
#include <vector>

#include "data/class_names.h"
#include "data/image_io.h"
#include "data/testing/test_images.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An Ultralytics layout under the test's temp dir: images/train/,
// labels/train/.
class YoloDir {
 public:
  explicit YoloDir(const std::string& name)
      : root_(::testing::TempDir() + "/yolo_" + name) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(images());
    std::filesystem::create_directories(root_ + "/labels/train");
  }
  std::string images() const { return root_ + "/images/train"; }
  void Image(const std::string& name, int w, int h) {
    ASSERT_OK(
        WritePngFile(images() + "/" + name, testing::RandomImage(w, h, 3)));
  }
  void Labels(const std::string& name, const std::string& text) {
    ASSERT_OK(WriteFileAtomically(root_ + "/labels/train/" + name, text));
  }
  YoloDatasetConfig Config() const {
    YoloDatasetConfig c;
    c.set_train_images(images());
    return c;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(YoloLabelsTest, ParsesLinesAndNamesFileAndLineOnErrors) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<YoloLabel> l,
      ParseYoloLabels("0 0.5 0.5 0.2 0.4\n\n  2\t0.1 0.2 0.05 0.1\r\n", "a.txt",
                      3));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1].label, 2);
  EXPECT_DOUBLE_EQ(l[1].cx, 0.1);
  EXPECT_DOUBLE_EQ(l[1].h, 0.1);
  EXPECT_EQ(l[1].line, 3);
  ASSERT_OK_AND_ASSIGN(l, ParseYoloLabels("", "empty.txt", 3));
  EXPECT_TRUE(l.empty());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"0 0.5 0.5 0.2\n", "a.txt:1: 4 fields; expected 5 (class cx cy w h)"},
      {"0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.2 0.1 0.3 0.2 0.1\n",
       "a.txt:2: 8 fields; expected 5 (class cx cy w h) (polygon labels are "
       "not read)"},
      {"cat 0.5 0.5 0.2 0.2", "a.txt:1: class: expected an integer, got 'cat'"},
      {"\n\n3 0.5 0.5 0.2 0.2", "a.txt:3: class 3 out of range (3 classes)"},
      {"-1 0.5 0.5 0.2 0.2", "class -1 out of range"},
      {"0 0.5 nan 0.2 0.2", "a.txt:1: cy: expected a number, got 'nan'"},
      {"0 0.5 0.5 x 0.2", "w: expected a number, got 'x'"},
  };
  for (const auto& [text, error] : bad) {
    EXPECT_THAT(ParseYoloLabels(text, "a.txt", 3),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(error)))
        << text;
  }
}

TEST(YoloLabelsTest, LabelPathFollowsUltralytics) {
  EXPECT_EQ(YoloLabelPath("d/images/train/a.jpg"), "d/labels/train/a.txt");
  EXPECT_EQ(YoloLabelPath("images/x/images/v/b.c.PNG"),
            "images/x/labels/v/b.c.txt");
  EXPECT_EQ(YoloLabelPath("data/obj/c.jpeg"), "data/obj/c.txt");
  EXPECT_EQ(YoloLabelPath("d.x/images/e"), "d.x/labels/e.txt");
}

TEST(YoloSplitTest, ReadsBoxesInPixelsAndKeepsImagesWithoutObjects) {
  YoloDir d("read");
  d.Image("b.png", 200, 100);
  d.Image("a.png", 64, 32);
  std::filesystem::create_directories(d.images() + "/sub");
  std::filesystem::create_directories(d.root() + "/labels/train/sub");
  d.Image("sub/c.png", 10, 10);
  d.Labels("b.txt", "1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.2\n");
  d.Labels("a.txt", "");  // an image without objects
  d.Labels("sub/c.txt", "1 0.5 0.5 1 1\n");
  ASSERT_OK(WriteFileAtomically(d.images() + "/notes.md", "not an image"));
  const std::vector<std::string> names = {"cat", "dog"};
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadYoloSplit(d.Config(), d.images(), names, {}));
  ASSERT_EQ(ds.num_images(), 3u);
  EXPECT_EQ(ds.image(0).file_name, "a.png");  // sorted
  EXPECT_EQ(ds.image(2).file_name, "sub/c.png");
  EXPECT_EQ(ds.image(1).width, 200);
  EXPECT_EQ(ds.image(1).height, 100);
  EXPECT_EQ(ds.boxes_of(0).size(), 0u);
  ASSERT_EQ(ds.boxes_of(1).size(), 2u);
  const BoxXYWH b = ds.boxes_of(1)[0];
  EXPECT_FLOAT_EQ(b.x, 80);
  EXPECT_FLOAT_EQ(b.y, 30);
  EXPECT_FLOAT_EQ(b.w, 40);
  EXPECT_FLOAT_EQ(b.h, 40);
  EXPECT_EQ(ds.labels_of(1)[0], 1);
  EXPECT_EQ(ds.labels_of(1)[1], 0);
  EXPECT_EQ(ds.categories()[1].name, "dog");
  EXPECT_EQ(ds.stats().images_without_boxes, 1);
  EXPECT_EQ(ds.stats().annotations, 3);
  // The box 0 0.1 0.1 0.2 0.2 starts at x = 0: no clipping needed.
  EXPECT_EQ(ds.stats().clipped_boxes, 0);
}

TEST(YoloSplitTest, MissingAndOrphanFilesAreErrors) {
  YoloDir d("orphans");
  d.Image("a.png", 20, 20);
  const std::vector<std::string> names = {"cat"};
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("images/train/a.png: no label file " +
                                 d.root() + "/labels/train/a.txt")));
  YoloDatasetConfig lenient = d.Config();
  lenient.set_missing_labels_are_empty(true);
  ASSERT_OK_AND_ASSIGN(CocoDataset ds,
                       ReadYoloSplit(lenient, d.images(), names, {}));
  EXPECT_EQ(ds.num_images(), 1u);
  EXPECT_EQ(ds.stats().images_without_boxes, 1);

  d.Labels("a.txt", "0 0.5 0.5 0.5 0.5\n");
  d.Labels("ghost.txt", "0 0.5 0.5 0.5 0.5\n");
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("labels/train/ghost.txt: label file without "
                                 "an image")));
  std::filesystem::remove(d.root() + "/labels/train/ghost.txt");

  d.Labels("a.txt", "0 0.5 0.5 0.5 1.5\n");
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("labels/train/a.txt:1: box [5, -5, 10, 30] "
                                 "lies outside image a.png (20x20)")));
  d.Labels("a.txt", "1 0.5 0.5 0.5 0.5\n");
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.txt:1: class 1 out of range (1 classes)")));

  ASSERT_OK(WriteFileAtomically(d.images() + "/b.webp", "RIFF"));
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("b.webp: image format not read")));
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.root() + "/none", names, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/none")));
  std::filesystem::remove(d.images() + "/b.webp");
  // A corrupt image is named.
  d.Labels("a.txt", "0 0.5 0.5 0.5 0.5\n");
  ASSERT_OK(WriteFileAtomically(d.images() + "/c.jpg", "not a jpeg"));
  d.Labels("c.txt", "");
  EXPECT_THAT(ReadYoloSplit(d.Config(), d.images(), names, {}),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("c.jpg: neither JPEG nor PNG")));
}

TEST(YoloSplitTest, DarknetLayoutLabelsBesideImagesWithNamesFile) {
  const std::string dir = ::testing::TempDir() + "/yolo_darknet/obj";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_OK(WritePngFile(dir + "/x.png", testing::RandomImage(8, 8, 1)));
  ASSERT_OK(WriteFileAtomically(dir + "/x.txt", "1 0.5 0.5 0.5 0.5\n"));
  ASSERT_OK(WriteFileAtomically(dir + "/classes.txt", "car\ntruck\n"));
  YoloDatasetConfig c;
  c.set_train_images(dir);
  c.set_names_file(dir + "/classes.txt");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, YoloClassNames(c));
  EXPECT_THAT(names, ElementsAre("car", "truck"));
  ASSERT_OK_AND_ASSIGN(CocoDataset ds, ReadYoloSplit(c, dir, names, {}));
  EXPECT_EQ(ds.num_boxes(), 1u);
  EXPECT_FLOAT_EQ(ds.boxes_of(0)[0].x, 2);
}

}  // namespace
}  // namespace sniper::data
