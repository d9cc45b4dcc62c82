// File: evaluation/testing/boxes.h
//
// Ground-truth boxes and detections in one line each, for the evaluators'
// tests. Header-only, test-only.
#ifndef SNIPER_EVALUATION_TESTING_BOXES_H_
#define SNIPER_EVALUATION_TESTING_BOXES_H_

#include <cstdint>

#include "evaluation/coco_eval.h"

namespace sniper::evaluation::testing {

// A box of image `image` and category `category`, area w * h.
inline GtBox Gt(int64_t image, int64_t category, double x, double y, double w,
                double h, bool crowd = false) {
  GtBox g;
  g.image_id = image;
  g.category_id = category;
  g.x = x;
  g.y = y;
  g.w = w;
  g.h = h;
  g.area = w * h;
  g.iscrowd = crowd;
  return g;
}

inline Detection Det(int64_t image, int64_t category, double x, double y,
                     double w, double h, double score) {
  Detection d;
  d.image_id = image;
  d.category_id = category;
  d.x = x;
  d.y = y;
  d.w = w;
  d.h = h;
  d.score = score;
  return d;
}

}  // namespace sniper::evaluation::testing

#endif  // SNIPER_EVALUATION_TESTING_BOXES_H_
