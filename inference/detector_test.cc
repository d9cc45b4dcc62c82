#include "inference/detector.h"

#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/small_detector.h"
#include "port/status_matchers.h"

namespace sniper::inference {
namespace {

using ::sniper::testing::StatusIs;
using ::testing::HasSubstr;

// What Create refuses, in words naming the setting.
TEST(MultiScaleDetectorTest, CreateRefusesWhatCannotRun) {
  const data::ChipSamplerConfig scales = testing::LongSides({320, 160});
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  ic.mutable_autofocus()->set_enabled(true);
  ic.mutable_autofocus()->add_steps();
  const InferenceOptions o = testing::ValidOptions(ic, scales);
  const models::FasterRcnnOptions mo = testing::SmallDetector();  // no focus
  auto create = [&](const InferenceOptions& opts) {
    return MultiScaleDetector::Create(models::FasterRcnn(mo), opts,
                                      data::ChipRenderOptions{},
                                      torch::Device(torch::kCPU), std::nullopt)
        .status();
  };
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("model.focus.enabled")));
  InferenceOptions two_steps = o;
  two_steps.ground_truth_focus = true;  // needs no focus branch
  EXPECT_TRUE(create(two_steps).ok());
  two_steps.focus_steps.push_back(two_steps.focus_steps[0]);
  EXPECT_THAT(create(two_steps),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("one step per test scale but the finest")));
  EXPECT_THAT(create(InferenceOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least one test scale")));
}

// On a CPU a batch's canvas holds at most kCpuBatchPixels unless the config
// sets eval.max_batch_pixels; the canvases run are the plan's.
TEST(MultiScaleDetectorTest, BatchesOnACpuStayWithinThePixelLimit) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  const data::ChipSamplerConfig scales = testing::LongSides({320, 480});
  for (const int64_t limit : {int64_t{0}, int64_t{1} << 40}) {
    SCOPED_TRACE(limit);
    InferenceConfig ic;
    *ic.mutable_scales() = scales.scales();
    ic.set_batch_size(3);
    ic.set_max_batch_padding(100);
    ic.set_max_batch_pixels(limit);
    torch::manual_seed(3);
    MultiScaleDetector detector =
        testing::CpuDetector(models::FasterRcnn(testing::SmallDetector()),
                             testing::ValidOptions(ic, scales));
    const BatchLimits limits = detector.batch_limits();
    EXPECT_EQ(limits.max_views, 3u);
    EXPECT_EQ(limits.max_canvas_pixels, limit == 0 ? kCpuBatchPixels : limit);
    std::vector<PreparedImage> prepared;
    std::vector<std::vector<ViewShape>> per_scale(2);
    for (size_t i = 0; i < 3; ++i) {
      absl::StatusOr<PreparedImage> p =
          detector.Prepare(ImageOf(ds, dir + "/images", i));
      ASSERT_TRUE(p.ok()) << p.status();
      for (const ScaledView& v : p->views) {
        per_scale[v.scale_index].push_back(
            {v.pixels.size(2), v.pixels.size(3)});
      }
      prepared.push_back(*std::move(p));
    }
    int64_t planned = 0;
    std::vector<size_t> batches;  // per scale
    for (const std::vector<ViewShape>& shapes : per_scale) {
      const auto plan = PlanBatches(shapes, limits);
      batches.push_back(plan.size());
      for (const std::vector<size_t>& b : plan) {
        planned += CanvasPixels(shapes, b);
        if (b.size() > 1) {
          EXPECT_LE(CanvasPixels(shapes, b), limits.max_canvas_pixels);
        }
      }
    }
    // The 480-pixel views (over half the CPU's limit each) run alone under
    // it and together without it.
    for (const ViewShape& v : per_scale[1]) {
      ASSERT_GT(2 * v.height * v.width, kCpuBatchPixels);
    }
    EXPECT_EQ(batches[1], limit == 0 ? 3u : 1u);
    detector.RunBatch({&prepared[0], &prepared[1], &prepared[2]});
    EXPECT_EQ(detector.canvas_pixels_run(), planned);
  }
}

// Canvas sides are multiples of eval.canvas_multiple (on a CPU 128 unless
// set); AutoFocus's FocusChips grow to fill their canvases, inside the
// image, around the chips FocusChips chose.
TEST(MultiScaleDetectorTest, ImagesPerBatchOnACpu) {
  const data::ChipSamplerConfig scales = testing::LongSides({320, 160});
  auto images_per_batch = [&](const std::string& extra) {
    InferenceConfig ic;
    *ic.mutable_scales() = scales.scales();
    ic.set_batch_size(4);
    if (extra == "autofocus") {
      ic.mutable_autofocus()->set_enabled(true);
      ic.mutable_autofocus()->add_steps()->set_threshold(0.5);
    } else if (extra == "pixels") {
      ic.set_max_batch_pixels(int64_t{1} << 22);
    }
    models::FasterRcnnOptions mo = testing::SmallDetector();
    mo.focus = extra == "autofocus";
    return testing::CpuDetector(models::FasterRcnn(mo),
                                testing::ValidOptions(ic, scales))
        .images_per_batch();
  };
  // Full inference: one image at a time, whatever batch_size says...
  EXPECT_EQ(images_per_batch(""), 1);
  // ... unless the canvas limit is set (larger batches asked for), and
  // AutoFocus, whose FocusChips batch across the images.
  EXPECT_EQ(images_per_batch("pixels"), 4);
  EXPECT_EQ(images_per_batch("autofocus"), 4);
}

TEST(MultiScaleDetectorTest, CanvasesAreMultiplesAndFocusChipsFillThem) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  const data::ChipSamplerConfig scales = testing::LongSides({160, 480});
  for (const int32_t multiple : {0, 32, 64}) {
    SCOPED_TRACE(multiple);
    InferenceConfig ic;
    *ic.mutable_scales() = scales.scales();
    ic.set_batch_size(2);
    ic.set_canvas_multiple(multiple);
    ic.mutable_autofocus()->set_enabled(true);
    ic.mutable_autofocus()->set_ground_truth_focus(true);
    ic.mutable_autofocus()->add_steps()->set_threshold(0.5f);
    torch::manual_seed(3);
    MultiScaleDetector detector =
        testing::CpuDetector(models::FasterRcnn(testing::SmallDetector()),
                             testing::ValidOptions(ic, scales));
    const int32_t m = multiple == 0 ? kCpuCanvasMultiple : multiple;
    EXPECT_EQ(detector.canvas_multiple(), m);
    std::vector<PreparedImage> prepared;
    for (size_t i = 0; i < ds.num_images(); ++i) {
      absl::StatusOr<PreparedImage> p =
          detector.Prepare(ImageOf(ds, dir + "/images", i));
      ASSERT_TRUE(p.ok()) << p.status();
      for (const ScaledView& v : p->views) {
        EXPECT_EQ(v.pixels.size(2) % m, 0);
        EXPECT_EQ(v.pixels.size(3) % m, 0);
      }
      prepared.push_back(*std::move(p));
    }
    std::vector<const PreparedImage*> batch;
    for (const PreparedImage& p : prepared) batch.push_back(&p);
    std::vector<std::vector<FocusStep>> trace;
    detector.RunBatch(batch, &trace);
    size_t chips = 0;
    for (size_t i = 0; i < trace.size(); ++i) {
      ASSERT_EQ(trace[i].size(), 2u);
      const FocusStep& coarse = trace[i][0];
      const FocusStep& fine = trace[i][1];
      ASSERT_EQ(fine.windows.size(), coarse.next_chips.size());
      for (size_t k = 0; k < fine.windows.size(); ++k) {
        const data::Chip& chip = coarse.next_chips[k];
        const data::Chip& w = fine.windows[k];
        EXPECT_EQ(w, GrowToCanvas(chip, m, fine.at.scaled_width,
                                  fine.at.scaled_height));
        EXPECT_LE(w.x1, chip.x1);
        EXPECT_LE(w.y1, chip.y1);
        EXPECT_GE(w.x2, chip.x2);
        EXPECT_GE(w.y2, chip.y2);
        ++chips;
      }
    }
    EXPECT_GT(chips, 0u);  // the images' boxes made some FocusChips
    // Every view ran on a canvas of multiples of m: the pixels counted are
    // sums of such canvases.
    EXPECT_EQ(detector.pixels_run() % (int64_t{m} * m), 0);
  }
}

// Batched views (padded to a common size) give the detections of one by
// one, up to floating-point rounding, whether the batches pad their views
// (any padding allowed: all six views of a scale together) or not (only
// equal shapes share a batch).
TEST(MultiScaleDetectorTest, BatchedEqualsOneByOne) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  ASSERT_EQ(ds.num_images(), 3u);

  const data::ChipSamplerConfig scales = testing::LongSides({320, 480});
  for (const float padding : {100.0f, 0.0f}) {
    SCOPED_TRACE(padding);
    InferenceConfig ic;
    *ic.mutable_scales() = scales.scales();
    ic.set_batch_size(3);
    ic.set_max_batch_padding(padding);
    ic.set_max_batch_pixels(int64_t{1} << 40);  // the CPU's limit lifted
    const InferenceOptions o = testing::ValidOptions(ic, scales);
    models::FasterRcnnOptions mo = testing::SmallDetector();
    torch::manual_seed(3);
    MultiScaleDetector detector =
        testing::CpuDetector(models::FasterRcnn(mo), o);
    std::vector<PreparedImage> prepared;
    std::set<std::pair<int64_t, int64_t>> shapes;
    for (size_t i = 0; i < 3; ++i) {
      absl::StatusOr<PreparedImage> p =
          detector.Prepare(ImageOf(ds, dir + "/images", i));
      ASSERT_TRUE(p.ok()) << p.status();
      ASSERT_EQ(p->views.size(), 2u);
      for (const ScaledView& v : p->views) {
        shapes.insert({v.pixels.size(2), v.pixels.size(3)});
      }
      prepared.push_back(*std::move(p));
    }
    ASSERT_GT(shapes.size(), 2u);  // views of different shapes
    const std::vector<ImageDetections> batched =
        detector.RunBatch({&prepared[0], &prepared[1], &prepared[2]});
    ASSERT_EQ(batched.size(), 3u);
    // Padding: none allowed, none run; allowed, the canvases hold more.
    if (padding == 0) {
      EXPECT_EQ(detector.canvas_pixels_run(), detector.pixels_run());
    } else {
      EXPECT_GT(detector.canvas_pixels_run(), detector.pixels_run());
    }
    for (size_t i = 0; i < 3; ++i) {
      const ImageDetections single = detector.Run(prepared[i]);
      ASSERT_GT(single.scores.size(0), 0) << i;
      // Compare the 10 best: rounding may reorder near-ties further down.
      const int64_t k = std::min<int64_t>(10, single.scores.size(0));
      ASSERT_GE(batched[i].scores.size(0), k);
      EXPECT_TRUE(torch::allclose(single.scores.narrow(0, 0, k),
                                  batched[i].scores.narrow(0, 0, k), 1e-4,
                                  1e-5))
          << i;
      EXPECT_TRUE(torch::allclose(single.boxes.narrow(0, 0, k),
                                  batched[i].boxes.narrow(0, 0, k), 1e-3, 1e-2))
          << i;
      // Inside the image.
      EXPECT_GE(single.boxes.min().item<float>(), 0);
    }
    EXPECT_EQ(detector.views_run(), 12);  // 6 batched + 6 one by one
  }
}

// Proposals outside their scale's valid range (in the view's pixels)
// skip the RCNN head. A margin wide enough to keep every proposal gives
// exactly the detections of no filter; a scale whose range holds nothing
// runs its views with no RoI at all and adds nothing, as pooling would.
TEST(MultiScaleDetectorTest, ProposalSizeMarginFiltersInTheViewsPixels) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  auto scales_with = [](float fine_max, float coarse_min) {
    data::ChipSamplerConfig scales;
    auto* fine = scales.add_scales();
    fine->mutable_size()->set_long_side(480);
    fine->mutable_valid_range()->set_max(fine_max);
    auto* coarse = scales.add_scales();
    coarse->mutable_size()->set_long_side(240);
    coarse->mutable_valid_range()->set_min(coarse_min);
    return scales;
  };
  torch::manual_seed(5);
  models::FasterRcnn model(testing::SmallDetector());
  auto run = [&](const data::ChipSamplerConfig& scales, float margin,
                 size_t i) {
    InferenceConfig ic;
    ic.set_proposal_size_margin(margin);
    return testing::DetectImage(model, ic, scales, ds, dir, i);
  };
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const ImageDetections off = run(scales_with(40, 30), 0, i);
    const ImageDetections wide = run(scales_with(40, 30), 1e6f, i);
    ASSERT_GT(off.scores.size(0), 0);
    EXPECT_TRUE(torch::equal(off.boxes, wide.boxes));
    EXPECT_TRUE(torch::equal(off.scores, wide.scores));
    // The fine scale keeps boxes under 0.5 px: none; the coarse one every
    // size. Filtered or not, the coarse scale's detections alone remain.
    const ImageDetections none_off = run(scales_with(0.5f, 0), 0, i);
    const ImageDetections none_on = run(scales_with(0.5f, 0), 1, i);
    ASSERT_GT(none_on.scores.size(0), 0);
    EXPECT_TRUE(torch::equal(none_off.boxes, none_on.boxes));
    EXPECT_TRUE(torch::equal(none_off.scores, none_on.scores));
  }
}

TEST(MultiScaleDetectorTest, PostNmsPerScaleLimitsEachScalesProposals) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  data::ChipSamplerConfig scales;
  scales.add_scales()->mutable_size()->set_long_side(480);
  scales.add_scales()->mutable_size()->set_long_side(240);
  torch::manual_seed(6);
  models::FasterRcnn model(testing::SmallDetector());
  const int64_t model_count = model->options().test_proposals.post_nms_top_n;
  const int64_t classes = model->options().num_classes;
  auto run = [&](const std::vector<int32_t>& counts, size_t i) {
    InferenceConfig ic;
    ic.set_score_threshold(0);  // every class of every proposal
    ic.set_proposal_size_margin(0);
    data::ChipSamplerConfig with_counts = scales;
    for (size_t k = 0; k < counts.size(); ++k) {  // -1: left unset
      if (counts[k] < 0) continue;
      with_counts.mutable_scales(k)->set_test_post_nms_top_n(counts[k]);
    }
    return testing::DetectImage(model, ic, with_counts, ds, dir, i);
  };
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const ImageDetections model_counts = run({}, i);
    const int32_t m = static_cast<int32_t>(model_count);
    const ImageDetections same = run({m, m}, i);
    EXPECT_TRUE(torch::equal(model_counts.boxes, same.boxes));
    EXPECT_TRUE(torch::equal(model_counts.scores, same.scores));
    // One proposal per view: at most one detection per class per view.
    const ImageDetections one = run({1, 1}, i);
    EXPECT_GT(one.scores.size(0), 0);
    EXPECT_LE(one.scores.size(0), 2 * classes);
    EXPECT_GT(model_counts.scores.size(0), 2 * classes);
    // One scale limited: between the two; a scale left unset keeps the
    // model's count.
    const ImageDetections coarse_limited = run({m, 1}, i);
    EXPECT_GT(coarse_limited.scores.size(0), one.scores.size(0));
    const ImageDetections unset_fine = run({-1, 1}, i);
    EXPECT_TRUE(torch::equal(unset_fine.boxes, coarse_limited.boxes));
    EXPECT_TRUE(torch::equal(unset_fine.scores, coarse_limited.scores));
  }
}

// Raw mode: per scale, the model's boxes of the whole scaled image brought
// back to original pixels (an RPN-only model: its test proposals, at most
// post_nms_top_n per scale), with the cost counted like Run's.
TEST(MultiScaleDetectorTest, ProposalsPerScaleInImagePixels) {
  data::CocoDataset ds;
  const std::string dir = testing::SmallDataset(&ds);
  const data::ChipSamplerConfig scales = testing::LongSides({320, 200});
  InferenceConfig ic;
  *ic.mutable_scales() = scales.scales();
  models::FasterRcnnOptions mo = testing::SmallDetector();
  mo.rpn_only = true;
  mo.test_proposals.post_nms_top_n = 40;
  torch::manual_seed(5);
  models::FasterRcnn model(mo);
  MultiScaleDetector detector =
      testing::CpuDetector(model, testing::ValidOptions(ic, scales));
  for (size_t i = 0; i < ds.num_images(); ++i) {
    absl::StatusOr<PreparedImage> p =
        detector.Prepare(ImageOf(ds, dir + "/images", i));
    ASSERT_TRUE(p.ok()) << p.status();
    const auto proposals = detector.Proposals(*p);
    ASSERT_EQ(proposals.size(), 2u);
    for (int s = 0; s < 2; ++s) {
      const ScaledView& v = p->views[s];
      ASSERT_EQ(v.scale_index, s);
      // The model on this view, by hand.
      const models::Detections d =
          DetectOn(model, v.pixels,
                   {{static_cast<double>(v.at.scaled_height),
                     static_cast<double>(v.at.scaled_width)}},
                   torch::Device(torch::kCPU), std::nullopt)[0];
      ASSERT_EQ(static_cast<int64_t>(proposals[s].size()), d.boxes.size(0));
      EXPECT_GT(proposals[s].size(), 0u);
      EXPECT_LE(proposals[s].size(), 40u);
      for (size_t k = 0; k < proposals[s].size(); ++k) {
        EXPECT_FLOAT_EQ(proposals[s][k].box.x2,
                        d.boxes[k][2].item<float>() / v.at.scale);
        EXPECT_FLOAT_EQ(proposals[s][k].score, d.scores[k].item<float>());
      }
    }
  }
  EXPECT_EQ(detector.views_per_scale(), (std::vector<int64_t>{3, 3}));
}

TEST(InferenceCostTest, PerImageAndPerScale) {
  InferenceCost c;
  c.pixels_per_image = 1.5e6;
  c.pixels_per_scale = {1.0e6, 0.5e6};
  c.views_per_scale = {1, 2.5};
  EXPECT_EQ(FormatInferenceCost(c),
            "every scale over the whole image: 1.500 M network pixels per "
            "image (scale 0: 1.000 M in 1.00 views, scale 1: 0.500 M in 2.50 "
            "views)");
  c.autofocus = true;
  EXPECT_THAT(FormatInferenceCost(c), ::testing::StartsWith("AutoFocus: "));
  c.canvas_pixels_per_image = 1.75e6;  // batches padded
  EXPECT_THAT(FormatInferenceCost(c),
              ::testing::EndsWith("views); batches padded to 1.750 M"));
}

}  // namespace
}  // namespace sniper::inference
