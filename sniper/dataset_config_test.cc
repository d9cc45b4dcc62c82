#include "sniper/dataset_config.h"

#include <string>
#include <vector>

#include "configs/default_synthetic_embedded.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"
#include "sniper/config.h"

namespace sniper {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<Pipeline> Build(const std::vector<std::string>& sets) {
  absl::StatusOr<PipelineConfig> merged =
      LayerConfigs(embedded::kDefaultSynthetic, "default", "", sets);
  if (!merged.ok()) return merged.status();
  return BuildPipeline(*merged);
}

TEST(DatasetConfigTest, VocOverTheDefaultTrainsAndEvaluatesOnVoc) {
  ASSERT_OK_AND_ASSIGN(Pipeline p, Build({"dataset.voc.root=data/VOC2007",
                                          "dataset.voc.val_split=test",
                                          "model.num_classes=20"}));
  EXPECT_TRUE(p.config.dataset().has_voc());
  EXPECT_FALSE(p.config.dataset().has_synthetic());
  // Resolved against the working directory; defaults kept.
  EXPECT_EQ(p.config.dataset().voc().root()[0], '/');
  EXPECT_THAT(p.config.dataset().voc().root(), HasSubstr("data/VOC2007"));
  EXPECT_EQ(p.config.dataset().voc().train_split(), "trainval");
  EXPECT_TRUE(p.config.dataset().voc().difficult_as_ignore());
  EXPECT_EQ(p.stages.back(), Stage::kEval);
  ASSERT_TRUE(p.dataset.voc.has_value());
  EXPECT_FALSE(p.dataset.yolo.has_value());
  EXPECT_TRUE(p.dataset.has_val);
  EXPECT_TRUE(p.dataset.train_json.empty());
  EXPECT_EQ(p.dataset.train_images,
            p.config.dataset().voc().root() + "/JPEGImages");
  // Without a validation split: no eval stage.
  ASSERT_OK_AND_ASSIGN(Pipeline q, Build({"dataset.voc.root=/v"}));
  EXPECT_NE(q.stages.back(), Stage::kEval);
  EXPECT_FALSE(q.dataset.has_val);
}

TEST(DatasetConfigTest, YoloResolvesEveryPath) {
  ASSERT_OK_AND_ASSIGN(Pipeline p,
                       Build({"dataset.yolo.train_images=d/images/train",
                              "dataset.yolo.val_images=d/images/val",
                              "dataset.yolo.names_file=d/data.yaml"}));
  const data::YoloDatasetConfig& y = p.config.dataset().yolo();
  for (const std::string& path :
       {y.train_images(), y.val_images(), y.names_file()}) {
    EXPECT_EQ(path[0], '/') << path;
  }
  ASSERT_TRUE(p.dataset.yolo.has_value());
  EXPECT_EQ(p.dataset.val_images, y.val_images());
  EXPECT_EQ(p.stages.back(), Stage::kEval);
  EXPECT_STREQ(DatasetFormatName(p.config.dataset()), "yolo");
}

TEST(DatasetConfigTest, InvalidSourcesNameTheField) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"dataset.voc.train_split=trainval"},
       "PipelineConfig.dataset.voc: set root"},
      {{"dataset.voc.root=/v", "dataset.voc.train_split="},
       "PipelineConfig.dataset.voc.train_split: must not be empty"},
      {{"dataset.voc.root=/v", "dataset.voc.val_split=trainval"},
       "PipelineConfig.dataset.voc.val_split: is the training split"},
      {{"dataset.yolo.names_file=n.yaml"},
       "PipelineConfig.dataset.yolo: set train_images"},
      {{"dataset.yolo.train_images=/i"},
       "PipelineConfig.dataset.yolo: set exactly one of names_file"},
      {{"dataset.yolo.train_images=/i", "dataset.yolo.names_file=n",
        "dataset.yolo.class_names=[a]"},
       "set exactly one of names_file"},
      {{"dataset.yolo.train_images=/i", "dataset.yolo.class_names=[a]",
        "dataset.yolo.val_images=/i"},
       "PipelineConfig.dataset.yolo.val_images: is the training "
       "directory"},
  };
  for (const auto& [sets, error] : cases) {
    EXPECT_THAT(Build(sets),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(error)))
        << sets[0];
  }
}

TEST(DatasetConfigTest, HasValidationSplitPerFormat) {
  DatasetConfig d;
  EXPECT_FALSE(HasValidationSplit(d));
  EXPECT_THAT(ValidateDatasetConfig(d),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("set one of synthetic {}, coco {...}, voc "
                                 "{...}, yolo {...}")));
  d.mutable_synthetic();
  EXPECT_TRUE(HasValidationSplit(d));
  d.mutable_coco()->set_train_annotations("a.json");
  EXPECT_FALSE(HasValidationSplit(d));
  d.mutable_coco()->set_val_annotations("b.json");
  EXPECT_TRUE(HasValidationSplit(d));
  d.mutable_yolo()->set_train_images("/i");
  EXPECT_FALSE(HasValidationSplit(d));
  EXPECT_STREQ(DatasetFormatName(d), "yolo");
}

}  // namespace
}  // namespace sniper
