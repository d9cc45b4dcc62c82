// File: inference/testing/small_detector.h
//
// Tests of inference/: a narrow ResNet-18 detector for the synthetic
// classes, three small synthetic validation images, the test scales a
// test asks for, and a CPU MultiScaleDetector over them.
#ifndef SNIPER_INFERENCE_TESTING_SMALL_DETECTOR_H_
#define SNIPER_INFERENCE_TESTING_SMALL_DETECTOR_H_

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

#include "data/coco_dataset.h"
#include "data/synthetic.h"
#include "gtest/gtest.h"
#include "inference/detector.h"
#include "inference/options.h"
#include "models/faster_rcnn.h"

namespace sniper::inference::testing {

// A narrow ResNet-18 detector for the 5 synthetic classes.
inline models::FasterRcnnOptions SmallDetector() {
  models::FasterRcnnOptions mo;
  mo.backbone.depth = 18;
  mo.backbone.width_multiplier = 0.25;
  mo.num_classes = 5;
  mo.rpn_channels = 32;
  mo.rcnn_reduce_channels = 32;
  mo.rcnn_fc_channels = 64;
  return mo;
}

// Three small synthetic validation images in *ds; returns their directory
// (the files are in <dir>/images).
inline std::string SmallDataset(data::CocoDataset* ds) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/inference_syn";
  data::SyntheticOptions so;
  so.train_images = 1;
  so.val_images = 3;
  so.min_side = 160;
  so.max_side = 320;
  data::SyntheticSplitStats a, b;
  EXPECT_TRUE(data::WriteSyntheticDataset(dir, so, &a, &b).ok());
  absl::StatusOr<data::CocoDataset> read =
      data::ReadCocoInstances(dir + "/instances_val.json", {});
  EXPECT_TRUE(read.ok()) << read.status();
  if (read.ok()) *ds = *std::move(read);
  return dir;
}

// Test scales of these long sides (in this order), valid everywhere.
inline data::ChipSamplerConfig LongSides(std::initializer_list<int> sides) {
  data::ChipSamplerConfig scales;
  for (int side : sides)
    scales.add_scales()->mutable_size()->set_long_side(side);
  return scales;
}

// A detector of `model` on the CPU in FP32 (options already valid).
inline MultiScaleDetector CpuDetector(models::FasterRcnn model,
                                      const InferenceOptions& o) {
  absl::StatusOr<MultiScaleDetector> d =
      MultiScaleDetector::Create(std::move(model), o, data::ChipRenderOptions{},
                                 torch::Device(torch::kCPU), std::nullopt);
  EXPECT_TRUE(d.ok()) << d.status();
  return *std::move(d);
}

// BuildInferenceOptions(ic, training) for options a test knows are valid.
inline InferenceOptions ValidOptions(const InferenceConfig& ic,
                                     const data::ChipSamplerConfig& training) {
  absl::StatusOr<InferenceOptions> o =
      BuildInferenceOptions(ic, training, "PipelineConfig.eval");
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : InferenceOptions{};
}

// `model`'s detections of image i of `ds` (files in <dir>/images) with
// `ic` over `scales`' scales.
inline ImageDetections DetectImage(const models::FasterRcnn& model,
                                   InferenceConfig ic,
                                   const data::ChipSamplerConfig& scales,
                                   const data::CocoDataset& ds,
                                   const std::string& dir, size_t i) {
  *ic.mutable_scales() = scales.scales();
  MultiScaleDetector d = CpuDetector(model, ValidOptions(ic, scales));
  absl::StatusOr<PreparedImage> p = d.Prepare(ImageOf(ds, dir + "/images", i));
  EXPECT_TRUE(p.ok()) << p.status();
  return d.Run(*p);
}

}  // namespace sniper::inference::testing

#endif  // SNIPER_INFERENCE_TESTING_SMALL_DETECTOR_H_
