#include "data/chip_loader.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "port/proto_io.h"

namespace sniper::data {
namespace {

ImageAtScale AtScale(const CocoDataset& dataset, const ChipSampler& sampler,
                     const ChipRecord& record) {
  const CocoImage& info = dataset.image(record.image_index);
  return MakeImageAtScale(sampler.options(), record.scale_index, info.width,
                          info.height, sampler.options().stride);
}

// Reads and decodes what `records` (chips of one image) need: the finest
// scale among them and the union of their windows.
absl::StatusOr<DecodedRegion> DecodeFor(const CocoDataset& dataset,
                                        const std::string& image_dir,
                                        const ChipSampler& sampler,
                                        absl::Span<const ChipRecord> records,
                                        ChipLoadStats* stats) {
  const CocoImage& info = dataset.image(records[0].image_index);
  DecodeRequest req;
  for (size_t k = 0; k < records.size(); ++k) {
    const DecodeRequest r = ChipDecodeRequest(
        AtScale(dataset, sampler, records[k]), records[k].chip);
    if (k == 0) {
      req = r;
      continue;
    }
    req.scale = std::max(req.scale, r.scale);
    req.x0 = std::min(req.x0, r.x0);
    req.y0 = std::min(req.y0, r.y0);
    req.x1 = std::max(req.x1, r.x1);
    req.y1 = std::max(req.y1, r.y1);
  }
  const std::string path = absl::StrCat(image_dir, "/", info.file_name);
  std::string bytes;
  absl::Status status = ReadFileToString(path, &bytes);
  if (!status.ok()) return status;
  absl::StatusOr<DecodedRegion> region = DecodeImageRegion(bytes, path, req);
  if (!region.ok()) return region.status();
  if (region->full_width != info.width || region->full_height != info.height) {
    return absl::DataLossError(absl::StrCat(
        path, ": image is ", region->full_width, "x", region->full_height,
        " but the annotations say ", info.width, "x", info.height));
  }
  if (stats != nullptr) {
    stats->file_bytes += static_cast<int64_t>(bytes.size());
    stats->decoded_pixels += region->decoded_pixels;
  }
  return region;
}

// Pixels and labels of one chip from an already decoded region.
void RenderWithLabels(const CocoDataset& dataset, const ChipSampler& sampler,
                      const DecodedRegion& region, const ChipRecord& record,
                      bool flip, const ChipRenderOptions& render, void* out,
                      ChipLabels* labels) {
  const ImageAtScale at = AtScale(dataset, sampler, record);
  const Chip& c = record.chip;
  RenderChip(region, c, at.scale, flip, render, out);
  AssignChipLabels(sampler.options(), record.scale_index, at, c,
                   dataset.boxes_of(record.image_index),
                   dataset.labels_of(record.image_index),
                   dataset.crowd_of(record.image_index), labels);
  if (flip) {
    const float w = static_cast<float>(c.x2 - c.x1);
    FlipBoxes(&labels->boxes, w);
    FlipBoxes(&labels->ignore, w);
  }
}

}  // namespace

std::vector<ChipRecord> GroupByShape(absl::Span<const ChipRecord> chips,
                                     const ChipShapeRule& rule, int64_t group,
                                     uint64_t seed) {
  auto shape_of = [&rule](const ChipRecord& r) {
    return std::pair<int32_t, int32_t>(rule.CanvasSide(r.chip.x2 - r.chip.x1),
                                       rule.CanvasSide(r.chip.y2 - r.chip.y1));
  };
  // Shapes in order of first appearance, chips of each in epoch order.
  std::vector<std::pair<int32_t, int32_t>> shapes;
  std::vector<std::vector<uint32_t>> members;
  for (size_t i = 0; i < chips.size(); ++i) {
    const auto shape = shape_of(chips[i]);
    size_t s = 0;
    while (s < shapes.size() && shapes[s] != shape) ++s;
    if (s == shapes.size()) {
      shapes.push_back(shape);
      members.emplace_back();
    }
    members[s].push_back(static_cast<uint32_t>(i));
  }
  group = std::max<int64_t>(group, 1);
  std::vector<std::vector<uint32_t>> units;
  std::vector<uint32_t> rest;
  for (const std::vector<uint32_t>& m : members) {
    const size_t full = m.size() / group * group;
    for (size_t k = 0; k < full; k += group) {
      units.emplace_back(m.begin() + k, m.begin() + k + group);
    }
    rest.insert(rest.end(), m.begin() + full, m.end());
  }
  std::stable_sort(rest.begin(), rest.end(), [&](uint32_t a, uint32_t b) {
    const auto sa = shape_of(chips[a]), sb = shape_of(chips[b]);
    const int64_t area_a = static_cast<int64_t>(sa.first) * sa.second;
    const int64_t area_b = static_cast<int64_t>(sb.first) * sb.second;
    return area_a != area_b ? area_a > area_b : sa < sb;
  });
  std::vector<uint32_t> partial;
  for (size_t k = 0; k < rest.size(); k += group) {
    const size_t end = std::min(rest.size(), k + static_cast<size_t>(group));
    if (end - k < static_cast<size_t>(group)) {
      partial.assign(rest.begin() + k, rest.begin() + end);
    } else {
      units.emplace_back(rest.begin() + k, rest.begin() + end);
    }
  }
  SplitMix64 rng(Mix64(seed ^ 0x7368617065ull));
  for (size_t k = units.size(); k > 1; --k) {
    std::swap(units[k - 1], units[rng.Below(k)]);
  }
  std::vector<ChipRecord> out;
  out.reserve(chips.size());
  for (const auto& u : units) {
    for (uint32_t i : u) out.push_back(chips[i]);
  }
  for (uint32_t i : partial) out.push_back(chips[i]);
  return out;
}

absl::Status LoadChip(const CocoDataset& dataset, const std::string& image_dir,
                      const ChipSampler& sampler, const ChipRecord& record,
                      bool flip, const ChipRenderOptions& render, void* out,
                      ChipLabels* labels, ChipLoadStats* stats) {
  absl::StatusOr<DecodedRegion> region =
      DecodeFor(dataset, image_dir, sampler, {&record, 1}, stats);
  if (!region.ok()) return region.status();
  RenderWithLabels(dataset, sampler, *region, record, flip, render, out,
                   labels);
  return absl::OkStatus();
}

ChipLoader::ChipLoader(const CocoDataset& dataset, std::string image_dir,
                       const ChipSampler& sampler, const ProposalSet* proposals,
                       ChipLoaderOptions options)
    : dataset_(dataset),
      image_dir_(std::move(image_dir)),
      sampler_(sampler),
      proposals_(proposals),
      options_(std::move(options)) {}

ChipLoader::~ChipLoader() { Stop(); }

void ChipLoader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

int64_t ChipLoader::StartEpoch(uint64_t epoch, int64_t first_batch) {
  Stop();
  epoch_ = epoch;
  chips_ = sampler_.Epoch(dataset_, proposals_, epoch);
  const int64_t b = options_.batch_size;
  if (options_.group_by_shape) {
    chips_ = GroupByShape(chips_, sampler_.options().shape_rule(),
                          b * std::max(1, options_.num_shards),
                          Mix64(options_.seed + 0x9E3779B97F4A7C15ull * epoch));
  }
  const int64_t n = static_cast<int64_t>(chips_.size());
  num_batches_ =
      options_.num_shards > 1 ? n / (b * options_.num_shards) : (n + b - 1) / b;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_to_build_ = std::clamp<int64_t>(first_batch, 0, num_batches_);
    next_to_return_ = next_to_build_;
    ready_.clear();
    error_ = absl::OkStatus();
    stop_ = false;
  }
  for (int32_t t = 0; t < std::max(1, options_.threads); ++t) {
    workers_.emplace_back([this] { Work(); });
  }
  return num_batches_;
}

ChipBatch ChipLoader::Build(int64_t index, absl::Status* error) const {
  const size_t canvas = ChipCanvasBytes(options_.render);
  const int64_t begin = (index * options_.num_shards + options_.shard_index) *
                        options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size,
                                        static_cast<int64_t>(chips_.size()));
  ChipBatch batch;
  batch.index = index;
  batch.pixels.resize(static_cast<size_t>(end - begin) * canvas);
  // Consecutive chips of one image (group_by_image epochs) share a single
  // decode at the finest scale among them over the union of their windows.
  const bool whole_images = sampler_.options().mode == ChipMode::kWholeImage;
  for (int64_t k = begin; whole_images && k < end; ++k) {
    const Chip& c = chips_[k].chip;
    if (c.x2 - c.x1 > options_.render.width() ||
        c.y2 - c.y1 > options_.render.height()) {
      // Whole images at a factor scale: the config cannot bound them.
      *error = absl::InvalidArgumentError(absl::StrCat(
          image_dir_, "/", dataset_.image(chips_[k].image_index).file_name,
          ": resized for scale ", chips_[k].scale_index, " it is ", c.x2 - c.x1,
          "x", c.y2 - c.y1, ", larger than the ", options_.render.width(), "x",
          options_.render.height(),
          " canvas; raise sampler.chip_size to at least its longer side"));
      return batch;
    }
  }
  for (int64_t k = begin; k < end;) {
    int64_t group_end = k + 1;
    while (group_end < end &&
           chips_[group_end].image_index == chips_[k].image_index) {
      ++group_end;
    }
    const absl::Span<const ChipRecord> group(&chips_[k], group_end - k);
    absl::StatusOr<DecodedRegion> region =
        DecodeFor(dataset_, image_dir_, sampler_, group, &batch.stats);
    if (!region.ok()) {
      if (options_.on_error == LoadErrorPolicy::kFail) {
        *error = region.status();
        return batch;
      }
      batch.skipped += static_cast<int32_t>(group.size());
      for (size_t g = 0; g < group.size(); ++g) {
        batch.errors.emplace_back(region.status().message());
      }
      k = group_end;
      continue;
    }
    for (; k < group_end; ++k) {
      const ChipRecord& record = chips_[k];
      const bool flip =
          options_.flip &&
          (Mix64(Mix64(options_.seed ^ 0x666C6970ull) +
                 epoch_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(k)) &
           1);
      ChipLabels labels;
      RenderWithLabels(
          dataset_, sampler_, *region, record, flip, options_.render,
          batch.pixels.data() + static_cast<size_t>(batch.size) * canvas,
          &labels);
      batch.records.push_back(record);
      batch.flipped.push_back(flip ? 1 : 0);
      batch.labels.push_back(std::move(labels));
      ++batch.size;
    }
  }
  batch.pixels.resize(static_cast<size_t>(batch.size) * canvas);
  // The network's extent: windows rounded up to the canvas step (32 unless
  // tight canvases say otherwise), within the render canvas, over the whole
  // global batch (every shard's chips), so that each process pads like one
  // process with the global batch would.
  const ChipShapeRule rule = sampler_.options().shape_rule();
  const int32_t step = rule.tight ? rule.step : 32;
  const int64_t global_begin =
      index * options_.num_shards * options_.batch_size;
  const int64_t global_end = std::min<int64_t>(
      global_begin + int64_t{options_.num_shards} * options_.batch_size,
      static_cast<int64_t>(chips_.size()));
  for (int64_t k = global_begin; k < global_end; ++k) {
    const Chip& c = chips_[k].chip;
    const int32_t w = (c.x2 - c.x1 + step - 1) / step * step;
    const int32_t h = (c.y2 - c.y1 + step - 1) / step * step;
    batch.canvas_width = std::max(batch.canvas_width, w);
    batch.canvas_height = std::max(batch.canvas_height, h);
  }
  batch.canvas_width = std::min(batch.canvas_width, options_.render.width());
  batch.canvas_height = std::min(batch.canvas_height, options_.render.height());
  return batch;
}

void ChipLoader::Work() {
  while (true) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Stay at most queue_depth batches ahead of the consumer.
      cv_.wait(lock, [&] {
        return stop_ || !error_.ok() || next_to_build_ >= num_batches_ ||
               next_to_build_ < next_to_return_ + options_.queue_depth;
      });
      if (stop_ || !error_.ok() || next_to_build_ >= num_batches_) return;
      index = next_to_build_++;
    }
    absl::Status error;
    ChipBatch batch = Build(index, &error);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error.ok()) {
        if (error_.ok()) error_ = error;
      } else {
        ready_.emplace(index, std::move(batch));
      }
    }
    cv_.notify_all();
  }
}

absl::StatusOr<std::optional<ChipBatch>> ChipLoader::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_return_ >= num_batches_) return std::optional<ChipBatch>();
  cv_.wait(lock, [&] {
    return !error_.ok() || ready_.count(next_to_return_) > 0 || stop_;
  });
  if (!error_.ok()) return error_;
  if (stop_) return absl::CancelledError("ChipLoader stopped");
  auto it = ready_.find(next_to_return_);
  ChipBatch batch = std::move(it->second);
  ready_.erase(it);
  ++next_to_return_;
  skipped_total_ += batch.skipped;
  lock.unlock();
  cv_.notify_all();
  return std::optional<ChipBatch>(std::move(batch));
}

}  // namespace sniper::data
