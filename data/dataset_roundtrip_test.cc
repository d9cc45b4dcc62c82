// coco_mini (747 real COCO images) written as Pascal VOC and as YOLO
// labels, then read back by their readers: the same images, boxes (to the
// precision each format carries), classes, ignore regions, positive chips
// and pixel counts as from the COCO JSON.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "configs/coco_single_scale_sampler_embedded.h"
#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler_builder.h"
#include "data/chip_stats.h"
#include "data/coco_dataset.h"
#include "data/dataset_export.h"
#include "data/testing/shared_data.h"
#include "data/testing/text_sampler.h"
#include "data/voc_dataset.h"
#include "data/yolo_dataset.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

ChipSampler Sampler(const char* text) {
  return sniper::testing::SamplerFromText(text);
}

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::vector<std::string> ClassNames(const CocoDataset& ds) {
  std::vector<std::string> names;
  for (const CocoCategory& c : ds.categories()) names.push_back(c.name);
  return names;
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = sniper::testing::SharedDataPath("coco_mini");
    if (dir.empty()) GTEST_SKIP() << sniper::testing::kNoSharedData;
    image_dir_ = dir + "/images";
    ASSERT_OK_AND_ASSIGN(coco_, ReadCocoInstances(dir + "/instances.json", {}));
    out_ = ::testing::TempDir() + "/roundtrip";
    std::filesystem::remove_all(out_);
  }

  // `got` has `coco_`'s images (matched by file name, any order), sizes,
  // labels and boxes within `tolerance` px; crowd boxes are compared
  // (with_crowd) or must be absent.
  void ExpectSameBoxes(const CocoDataset& got, double tolerance,
                       bool with_crowd) {
    ASSERT_EQ(got.num_images(), coco_.num_images());
    absl::flat_hash_map<std::string, size_t> index;
    for (size_t i = 0; i < got.num_images(); ++i) {
      index[BaseName(got.image(i).file_name)] = i;
    }
    double worst = 0;
    for (size_t i = 0; i < coco_.num_images(); ++i) {
      const CocoImage& a = coco_.image(i);
      auto it = index.find(BaseName(a.file_name));
      ASSERT_NE(it, index.end()) << a.file_name;
      const size_t j = it->second;
      EXPECT_EQ(got.image(j).width, a.width);
      EXPECT_EQ(got.image(j).height, a.height);
      std::vector<size_t> kept;
      for (size_t k = 0; k < coco_.boxes_of(i).size(); ++k) {
        if (with_crowd || !coco_.crowd_of(i)[k]) kept.push_back(k);
      }
      ASSERT_EQ(got.boxes_of(j).size(), kept.size()) << a.file_name;
      for (size_t n = 0; n < kept.size(); ++n) {
        const BoxXYWH& x = coco_.boxes_of(i)[kept[n]];
        const BoxXYWH& y = got.boxes_of(j)[n];
        worst = std::max({worst, std::abs(double{x.x} - y.x),
                          std::abs(double{x.y} - y.y),
                          std::abs(double{x.x} + x.w - (double{y.x} + y.w)),
                          std::abs(double{x.y} + x.h - (double{y.y} + y.h))});
        EXPECT_EQ(got.labels_of(j)[n], coco_.labels_of(i)[kept[n]]);
        EXPECT_EQ(got.crowd_of(j)[n], coco_.crowd_of(i)[kept[n]]);
      }
    }
    EXPECT_LE(worst, tolerance);
    RecordProperty("worst_corner_error_px", std::to_string(worst));
  }

  // The same positive chips, image by image, and the same epoch pixels.
  void ExpectSameChips(const CocoDataset& got) {
    const ChipSampler sampler = Sampler(embedded::kCocoSniperSampler);
    absl::flat_hash_map<std::string, size_t> index;
    for (size_t i = 0; i < got.num_images(); ++i) {
      index[BaseName(got.image(i).file_name)] = i;
    }
    CoverScratch scratch;
    int64_t chips = 0;
    for (size_t i = 0; i < coco_.num_images(); ++i) {
      const size_t j = index.at(BaseName(coco_.image(i).file_name));
      ImageChips a, b;
      sampler.GenerateImageChips(coco_, i, nullptr, 0, &scratch, &a);
      sampler.GenerateImageChips(got, j, nullptr, 0, &scratch, &b);
      ASSERT_EQ(a.scales.size(), b.scales.size());
      for (size_t s = 0; s < a.scales.size(); ++s) {
        EXPECT_EQ(a.scales[s].positives, b.scales[s].positives)
            << coco_.image(i).file_name << " scale " << s;
        chips += static_cast<int64_t>(a.scales[s].positives.size());
      }
    }
    EXPECT_GT(chips, static_cast<int64_t>(coco_.num_images()));
    const ChipSampler baseline = Sampler(embedded::kCocoSingleScaleSampler);
    const ChipStats x = ComputeChipStats(coco_, sampler, baseline, nullptr, 0);
    const ChipStats y = ComputeChipStats(got, sampler, baseline, nullptr, 0);
    EXPECT_EQ(x.positive_chips, y.positive_chips);
    EXPECT_EQ(x.positive_pixels, y.positive_pixels);
    EXPECT_EQ(x.single_scale_pixels, y.single_scale_pixels);
    EXPECT_EQ(x.pyramid_pixels, y.pyramid_pixels);
  }

  std::string image_dir_, out_;
  CocoDataset coco_;
};

TEST_F(RoundTripTest, PascalVoc) {
  ExportStats stats;
  ASSERT_OK(WriteVocSplit(coco_, image_dir_, out_ + "/voc", "all", {}, &stats));
  EXPECT_EQ(stats.images, static_cast<int64_t>(coco_.num_images()));
  EXPECT_EQ(stats.boxes, static_cast<int64_t>(coco_.num_boxes()));
  VocDatasetConfig config;
  config.set_root(out_ + "/voc");
  ASSERT_OK_AND_ASSIGN(CocoDataset voc,
                       ReadVocSplit(config, "all", ClassNames(coco_), {}));
  EXPECT_EQ(voc.num_boxes(), coco_.num_boxes());
  EXPECT_EQ(voc.stats().crowd_boxes, coco_.stats().crowd_boxes);
  ExpectSameBoxes(voc, 1e-3, /*with_crowd=*/true);
  ExpectSameChips(voc);
  // The images resolve: every file name under JPEGImages/ is a readable
  // link to the original.
  for (size_t i = 0; i < voc.num_images(); i += 97) {
    EXPECT_TRUE(std::filesystem::exists(VocImageDir(config) + "/" +
                                        voc.image(i).file_name));
  }
  // Classes from the data instead: sorted names, the same boxes.
  ASSERT_OK_AND_ASSIGN(CocoDataset sorted, ReadVocSplit(config, "all", {}, {}));
  ASSERT_LE(sorted.num_categories(), coco_.num_categories());
  for (size_t k = 1; k < sorted.num_categories(); ++k) {
    EXPECT_LT(sorted.categories()[k - 1].name, sorted.categories()[k].name);
  }
  EXPECT_EQ(sorted.num_boxes(), coco_.num_boxes());
}

TEST_F(RoundTripTest, PascalVocWholePixels) {
  // VOC's own files hold whole pixels: every corner moves by at most half
  // a pixel.
  ExportStats stats;
  ExportOptions whole;
  whole.digits = 0;
  ASSERT_OK(
      WriteVocSplit(coco_, image_dir_, out_ + "/voc0", "all", whole, &stats));
  VocDatasetConfig config;
  config.set_root(out_ + "/voc0");
  ASSERT_OK_AND_ASSIGN(CocoDataset voc,
                       ReadVocSplit(config, "all", ClassNames(coco_), {}));
  ExpectSameBoxes(voc, 0.5 + 1e-3, /*with_crowd=*/true);
}

TEST_F(RoundTripTest, Yolo) {
  ExportStats stats;
  ASSERT_OK(
      WriteYoloSplit(coco_, image_dir_, out_ + "/yolo", "train", {}, &stats));
  EXPECT_EQ(stats.crowd_boxes_left_out, coco_.stats().crowd_boxes);
  EXPECT_EQ(stats.boxes + stats.crowd_boxes_left_out,
            static_cast<int64_t>(coco_.num_boxes()));
  YoloDatasetConfig config;
  config.set_train_images(out_ + "/yolo/images/train");
  config.set_names_file(out_ + "/yolo/data.yaml");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, YoloClassNames(config));
  EXPECT_EQ(names, ClassNames(coco_));
  ASSERT_OK_AND_ASSIGN(CocoDataset yolo,
                       ReadYoloSplit(config, config.train_images(), names, {}));
  // Sizes came from the JPEG headers: they match the JSON's.
  ExpectSameBoxes(yolo, 1e-3, /*with_crowd=*/false);
  // Crowd boxes never make positive chips, so leaving them out changes
  // none.
  ExpectSameChips(yolo);
}

}  // namespace
}  // namespace sniper::data
