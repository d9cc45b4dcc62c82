// The pipeline end to end on the same tiny synthetic set three ways: as
// COCO JSON, written as Pascal VOC, and as YOLO labels. VOC carries the
// boxes exactly, so its run is the COCO run to the last bit (the same
// losses, the same AP); YOLO's normalised coordinates move boxes by float
// rounding, so its run only has to train and evaluate. Images without
// objects are kept and counted in the stage summary.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/coco_dataset.h"
#include "data/dataset_export.h"
#include "data/synthetic.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"
#include "sniper/testing/tiny_pipeline.h"
#include "sniper/trainer.h"

namespace sniper {
namespace {

namespace fs = std::filesystem;
using ::sniper::testing::TestDir;
using ::sniper::testing::TinyPipeline;
using ::testing::HasSubstr;

RunOptions Quiet() {
  RunOptions o;
  o.progress = false;
  return o;
}

// The tiny pipeline's synthetic set (its own cache directory), written as
// VOC (splits train, val) and YOLO (images/train, images/val).
class DatasetFormatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = TestDir() + "/formats";
    fs::remove_all(dir);
    synthetic_ = dir + "/synthetic";
    data::SyntheticOptions o;
    o.train_images = 12;
    o.val_images = 4;
    o.min_side = 160;
    o.max_side = 400;
    data::SyntheticSplitStats train, val;
    ASSERT_OK(data::WriteSyntheticDataset(synthetic_, o, &train, &val));
    for (const char* split : {"train", "val"}) {
      ASSERT_OK_AND_ASSIGN(
          data::CocoDataset ds,
          data::ReadCocoInstances(
              absl::StrCat(synthetic_, "/instances_", split, ".json"), {}));
      if (classes_.empty()) {
        for (const data::CocoCategory& c : ds.categories()) {
          classes_.push_back(c.name);
        }
      }
      data::ExportStats stats;
      ASSERT_OK(data::WriteVocSplit(ds, synthetic_ + "/images", dir + "/voc",
                                    split, {}, &stats));
      ASSERT_OK(data::WriteYoloSplit(ds, synthetic_ + "/images", dir + "/yolo",
                                     split, {}, &stats));
    }
    voc_ = dir + "/voc";
    yolo_ = dir + "/yolo";
  }

  static std::string synthetic_, voc_, yolo_;
  static std::vector<std::string> classes_;
};
std::string DatasetFormatsTest::synthetic_;
std::string DatasetFormatsTest::voc_;
std::string DatasetFormatsTest::yolo_;
std::vector<std::string> DatasetFormatsTest::classes_;

std::string ClassList(const std::vector<std::string>& names) {
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

TEST_F(DatasetFormatsTest, VocTrainsExactlyAsCocoJson) {
  const std::vector<std::string> common = {"dataset.synthetic.cache_dir=" +
                                           synthetic_};
  ASSERT_OK_AND_ASSIGN(
      RunSummary coco,
      RunPipeline(TinyPipeline("formats_coco", common), Quiet()));
  ASSERT_OK_AND_ASSIGN(
      RunSummary voc,
      RunPipeline(TinyPipeline("formats_voc", {"dataset.voc.root=" + voc_,
                                               "dataset.voc.train_split=train",
                                               "dataset.voc.val_split=val",
                                               "dataset.voc.class_names=" +
                                                   ClassList(classes_)}),
                  Quiet()));
  ASSERT_EQ(voc.stages.size(), 4u);
  ASSERT_EQ(coco.stages.size(), 4u);
  for (size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(voc.stages[s].final_loss, coco.stages[s].final_loss) << s;
  }
  const StageSummary& a = coco.stages.back();
  const StageSummary& b = voc.stages.back();
  ASSERT_EQ(b.coco_stats.size(), 12u);
  EXPECT_EQ(b.coco_stats, a.coco_stats);
  EXPECT_EQ(b.voc_ap50, a.voc_ap50);
  EXPECT_GE(b.voc_ap50, 0.0);
  EXPECT_LE(b.voc_ap50, 1.0);
  // The detector's summary counts the training images and those without
  // boxes.
  EXPECT_EQ(voc.stages[2].images, 12);
  EXPECT_EQ(voc.stages[2].images_without_boxes,
            coco.stages[2].images_without_boxes);
  std::string summary;
  ASSERT_OK(ReadFileToString(voc.work_dir + "/summary/eval.json", &summary));
  EXPECT_THAT(summary, HasSubstr("\"voc_ap50\": "));
}

TEST_F(DatasetFormatsTest, YoloTrainsAndEvaluatesWithEmptyImagesKept) {
  // One training image's labels emptied: an image without objects, kept.
  const std::string first =
      fs::directory_iterator(yolo_ + "/labels/train")->path().string();
  ASSERT_OK(WriteFileAtomically(first, ""));
  ASSERT_OK_AND_ASSIGN(
      RunSummary yolo,
      RunPipeline(
          TinyPipeline("formats_yolo",
                       {"dataset.yolo.train_images=" + yolo_ + "/images/train",
                        "dataset.yolo.val_images=" + yolo_ + "/images/val",
                        "dataset.yolo.names_file=" + yolo_ + "/data.yaml"}),
          Quiet()));
  ASSERT_EQ(yolo.stages.size(), 4u);
  EXPECT_EQ(yolo.stages[2].images, 12);
  EXPECT_GE(yolo.stages[2].images_without_boxes, 1);
  ASSERT_EQ(yolo.stages.back().coco_stats.size(), 12u);
  EXPECT_TRUE(std::isfinite(yolo.stages.back().coco_stats[0]));
  EXPECT_GE(yolo.stages.back().voc_ap50, 0.0);
  std::string log;
  ASSERT_OK(ReadFileToString(yolo.work_dir + "/train.log", &log));
  EXPECT_THAT(log, HasSubstr("12 training images"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat(yolo.stages[2].images_without_boxes,
                                          " images without any")));
  EXPECT_THAT(log, HasSubstr("Pascal VOC AP50"));
}

}  // namespace
}  // namespace sniper
