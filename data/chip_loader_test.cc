#include "data/chip_loader.h"

#include <sys/stat.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "configs/coco_sniper_sampler_embedded.h"
#include "data/chip_sampler_builder.h"
#include "data/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "port/proto_io.h"
#include "port/status_matchers.h"

namespace sniper::data {
namespace {

using ::testing::HasSubstr;

// Writes `n` random JPEGs (sizes 200..900) with a few boxes each into a
// temporary directory; image 0's file can be made missing or corrupt.
struct TempDataset {
  std::string dir;
  CocoDataset dataset;
};

TempDataset MakeDataset(int n, const std::string& name) {
  TempDataset t;
  t.dir = std::string(::testing::TempDir()) + "/" + name;
  mkdir(t.dir.c_str(), 0755);
  std::mt19937 rng(5);
  CocoDatasetBuilder b(name);
  int64_t id = 0;
  tjhandle tj = tjInitCompress();
  for (int i = 0; i < n; ++i) {
    CocoImage im;
    im.id = i + 1;
    im.width = 200 + static_cast<int32_t>(rng() % 700);
    im.height = 200 + static_cast<int32_t>(rng() % 700);
    im.file_name = "img" + std::to_string(i) + ".jpg";
    std::vector<uint8_t> px(static_cast<size_t>(im.width) * im.height * 3);
    for (auto& p : px) p = static_cast<uint8_t>(rng() % 256);
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    tjCompress2(tj, px.data(), im.width, 0, im.height, TJPF_RGB, &buf, &size,
                TJSAMP_420, 80, 0);
    EXPECT_TRUE(
        WriteFileAtomically(t.dir + "/" + im.file_name,
                            std::string(reinterpret_cast<char*>(buf), size))
            .ok());
    tjFree(buf);
    b.AddImage(im);
    const int nb = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < nb; ++k) {
      const float w = 10 + rng() % (im.width / 2),
                  h = 10 + rng() % (im.height / 2);
      const float x =
          static_cast<float>(rng() % static_cast<uint32_t>(im.width - w));
      const float y =
          static_cast<float>(rng() % static_cast<uint32_t>(im.height - h));
      b.AddAnnotation({{x, y, w, h}, k % 3, false, ++id});
    }
  }
  tjDestroy(tj);
  absl::StatusOr<CocoDataset> dataset = std::move(b).Build();
  EXPECT_TRUE(dataset.ok()) << dataset.status();
  t.dataset = *std::move(dataset);
  return t;
}

ChipSampler Sampler() {
  auto o = ParseChipSamplerOptions(embedded::kCocoSniperSampler, "embedded");
  EXPECT_TRUE(o.ok());
  return ChipSampler(*o);
}

std::vector<ChipBatch> RunEpoch(ChipLoader& loader, uint64_t epoch) {
  std::vector<ChipBatch> out;
  const int64_t n = loader.StartEpoch(epoch);
  while (true) {
    auto b = loader.Next();
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok() || !b->has_value()) break;
    out.push_back(std::move(**b));
  }
  EXPECT_EQ(static_cast<int64_t>(out.size()), n);
  return out;
}

TEST(ChipLoaderTest, GroupByShapeMakesSingleShapeBatches) {
  const ChipShapeRule rule{512, 128, 64, true};
  std::mt19937 rng(3);
  std::vector<ChipRecord> chips;
  const int32_t sides[] = {128, 192, 512};
  std::map<std::pair<int32_t, int32_t>, int> per_shape;
  for (uint32_t i = 0; i < 203; ++i) {
    ChipRecord r;
    r.image_index = i;
    const int32_t w = sides[rng() % 3], h = sides[rng() % 3];
    r.chip = {0, 0, w - static_cast<int32_t>(rng() % 20), h};
    chips.push_back(r);
    ++per_shape[{w, h}];
  }
  const int64_t group = 8;
  const std::vector<ChipRecord> out = GroupByShape(chips, rule, group, 11);
  ASSERT_EQ(out.size(), chips.size());
  std::vector<uint32_t> seen;
  for (const ChipRecord& r : out) seen.push_back(r.image_index);
  std::sort(seen.begin(), seen.end());
  for (uint32_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i);
  int uniform = 0, expected = 0;
  for (const auto& [shape, n] : per_shape) expected += n / group;
  for (size_t b = 0; b + group <= out.size(); b += group) {
    bool same = true;
    for (size_t k = b + 1; k < b + group; ++k) {
      same =
          same &&
          rule.CanvasSide(out[k].chip.x2) == rule.CanvasSide(out[b].chip.x2) &&
          rule.CanvasSide(out[k].chip.y2) == rule.CanvasSide(out[b].chip.y2);
    }
    uniform += same;
  }
  EXPECT_GE(uniform, expected);
  EXPECT_GT(expected, 15);
  // A pure function of its inputs; another seed, another batch order.
  const std::vector<ChipRecord> again = GroupByShape(chips, rule, group, 11);
  const std::vector<ChipRecord> other = GroupByShape(chips, rule, group, 12);
  bool same_again = true, same_other = true;
  for (size_t i = 0; i < out.size(); ++i) {
    same_again = same_again && again[i].image_index == out[i].image_index;
    same_other = same_other && other[i].image_index == out[i].image_index;
  }
  EXPECT_TRUE(same_again);
  EXPECT_FALSE(same_other);
}

TEST(ChipLoaderTest, TightCanvasBatchesCarryTheirExtent) {
  const TempDataset t = MakeDataset(16, "tight");
  auto so = ParseChipSamplerOptions(embedded::kCocoSniperSampler, "embedded");
  ASSERT_TRUE(so.ok()) << so.status();
  so->cover = CoverKind::kOptimized;
  so->tight_canvas = true;
  so->min_chip_size = 128;
  so->canvas_step = 64;
  const ChipSampler sampler(*so);
  ChipLoaderOptions o;
  o.batch_size = 2;
  o.render.layout = ChipLayout::kHwcUint8;
  o.group_by_shape = true;
  ChipLoader loader(t.dataset, t.dir, sampler, nullptr, o);
  int64_t canvas_px = 0, full_px = 0;
  for (const ChipBatch& b : RunEpoch(loader, 0)) {
    ASSERT_GT(b.size, 0);
    EXPECT_EQ(b.canvas_width % 64, 0);
    EXPECT_EQ(b.canvas_height % 64, 0);
    for (const ChipRecord& r : b.records) {
      EXPECT_LE(r.chip.x2 - r.chip.x1, b.canvas_width);
      EXPECT_LE(r.chip.y2 - r.chip.y1, b.canvas_height);
    }
    canvas_px += int64_t{b.canvas_width} * b.canvas_height * b.size;
    full_px += int64_t{512} * 512 * b.size;
  }
  EXPECT_LT(canvas_px, full_px / 2);
}

TEST(ChipLoaderTest, SameBatchesWhateverTheThreadCount) {
  const TempDataset t = MakeDataset(12, "det");
  const ChipSampler sampler = Sampler();
  ChipLoaderOptions o;
  o.batch_size = 3;
  o.render.chip_size = 128;  // keep the test light; same code path
  o.render.layout = ChipLayout::kHwcUint8;
  o.seed = 9;
  std::vector<std::vector<ChipBatch>> runs;
  for (int threads : {1, 3}) {
    o.threads = threads;
    o.queue_depth = threads == 1 ? 1 : 5;
    ChipLoader loader(t.dataset, t.dir, sampler, nullptr, o);
    runs.push_back(RunEpoch(loader, 2));
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  int flips = 0, chips = 0;
  for (size_t b = 0; b < runs[0].size(); ++b) {
    const ChipBatch& x = runs[0][b];
    const ChipBatch& y = runs[1][b];
    EXPECT_EQ(x.index, static_cast<int64_t>(b));
    ASSERT_EQ(x.size, y.size);
    EXPECT_EQ(x.pixels, y.pixels) << b;
    EXPECT_EQ(x.flipped, y.flipped);
    for (int k = 0; k < x.size; ++k) {
      EXPECT_EQ(x.records[k].image_index, y.records[k].image_index);
      EXPECT_EQ(x.records[k].chip, y.records[k].chip);
      EXPECT_EQ(x.labels[k].boxes.size(), y.labels[k].boxes.size());
      flips += x.flipped[k];
      ++chips;
    }
  }
  EXPECT_GT(chips, 12);
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, chips);

  // Resuming mid-epoch gives the remaining batches of the full epoch.
  ChipLoader loader(t.dataset, t.dir, sampler, nullptr, o);
  const int64_t first = 2;
  EXPECT_EQ(loader.StartEpoch(2, first), static_cast<int64_t>(runs[0].size()));
  for (size_t b = first; b < runs[0].size(); ++b) {
    auto batch = loader.Next();
    ASSERT_TRUE(batch.ok() && batch->has_value());
    EXPECT_EQ((*batch)->index, static_cast<int64_t>(b));
    EXPECT_EQ((*batch)->pixels, runs[0][b].pixels);
    EXPECT_EQ((*batch)->flipped, runs[0][b].flipped);
  }
  auto end = loader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(ChipLoaderTest, MissingAndCorruptImagesFailOrAreSkippedAndCounted) {
  TempDataset t = MakeDataset(6, "bad");
  // Image 0 missing, image 1 truncated.
  ASSERT_EQ(std::remove((t.dir + "/img0.jpg").c_str()), 0);
  std::string bytes;
  ASSERT_OK(ReadFileToString(t.dir + "/img1.jpg", &bytes));
  ASSERT_OK(WriteFileAtomically(t.dir + "/img1.jpg",
                                bytes.substr(0, bytes.size() / 3)));
  const ChipSampler sampler = Sampler();
  ChipLoaderOptions o;
  o.batch_size = 2;
  o.render.chip_size = 64;
  o.render.layout = ChipLayout::kHwcUint8;
  {
    ChipLoader loader(t.dataset, t.dir, sampler, nullptr, o);
    loader.StartEpoch(0);
    absl::Status failure;
    while (true) {
      auto b = loader.Next();
      if (!b.ok()) {
        failure = b.status();
        break;
      }
      if (!b->has_value()) break;
    }
    EXPECT_FALSE(failure.ok());
    EXPECT_THAT(std::string(failure.message()), HasSubstr("/img"));
  }
  o.on_error = LoadErrorPolicy::kSkip;
  ChipLoader loader(t.dataset, t.dir, sampler, nullptr, o);
  const std::vector<ChipBatch> batches = RunEpoch(loader, 0);
  int64_t present = 0, skipped = 0, expected_skips = 0;
  for (const ChipBatch& b : batches) {
    present += b.size;
    skipped += b.skipped;
    for (const auto& e : b.errors) {
      EXPECT_TRUE(e.find("img0.jpg") != std::string::npos ||
                  e.find("img1.jpg") != std::string::npos)
          << e;
    }
    for (const auto& r : b.records) EXPECT_GE(r.image_index, 2u);
  }
  for (const ChipRecord& r : Sampler().Epoch(t.dataset, nullptr, 0)) {
    if (r.image_index < 2) ++expected_skips;
  }
  EXPECT_EQ(skipped, expected_skips);
  EXPECT_EQ(loader.skipped_total(), expected_skips);
  EXPECT_EQ(present + skipped, loader.chips_in_epoch());
}

}  // namespace
}  // namespace sniper::data
