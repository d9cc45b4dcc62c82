// File: data/testing/random_dataset.h
//
// Deterministic random datasets for property tests and benchmarks: image
// sides 60..1600 px, 0..40 boxes per image with log-uniform sizes from 1 px
// to the whole image, ~10% exact duplicates, ~5% crowd. Header-only,
// test-only.
#ifndef SNIPER_DATA_TESTING_RANDOM_DATASET_H_
#define SNIPER_DATA_TESTING_RANDOM_DATASET_H_

#include <cmath>
#include <random>
#include <vector>

#include "data/coco_dataset.h"

namespace sniper::testing {

struct RandomImage {
  int32_t width = 0, height = 0;
  std::vector<data::BoxXYWH> boxes;
  std::vector<int32_t> labels;
  std::vector<uint8_t> crowd;
};

inline RandomImage MakeRandomImage(std::mt19937& rng, int max_boxes = 40) {
  std::uniform_int_distribution<int> side(60, 1600);
  RandomImage im;
  im.width = side(rng);
  im.height = side(rng);
  const int n = std::uniform_int_distribution<int>(0, max_boxes)(rng);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < n; ++i) {
    const float w = std::exp(u(rng) * std::log(static_cast<float>(im.width)));
    const float h = std::exp(u(rng) * std::log(static_cast<float>(im.height)));
    const float x = u(rng) * (im.width - w);
    const float y = u(rng) * (im.height - h);
    im.boxes.push_back({x, y, w, h});
    if (i > 0 && u(rng) < 0.1f) im.boxes.push_back(im.boxes.back());
  }
  for (size_t i = 0; i < im.boxes.size(); ++i) {
    im.labels.push_back(static_cast<int32_t>(i % 5));
    im.crowd.push_back(u(rng) < 0.05f ? 1 : 0);
  }
  return im;
}

inline data::CocoDataset DatasetOf(const std::vector<RandomImage>& images) {
  data::CocoDatasetBuilder b("random");
  int64_t id = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    data::CocoImage ci;
    ci.id = static_cast<int64_t>(i) + 1;
    ci.width = images[i].width;
    ci.height = images[i].height;
    b.AddImage(ci);
    for (size_t k = 0; k < images[i].boxes.size(); ++k) {
      b.AddAnnotation({images[i].boxes[k], images[i].labels[k],
                       images[i].crowd[k] != 0, ++id});
    }
  }
  return *std::move(b).Build();
}

inline data::CocoDataset MakeRandomDataset(int num_images, uint32_t seed,
                                           int max_boxes = 40) {
  std::mt19937 rng(seed);
  std::vector<RandomImage> images;
  for (int i = 0; i < num_images; ++i) {
    images.push_back(MakeRandomImage(rng, max_boxes));
  }
  return DatasetOf(images);
}

}  // namespace sniper::testing

#endif  // SNIPER_DATA_TESTING_RANDOM_DATASET_H_
