// File: data/chip_loader.h
//
// Turns an epoch's chips into batches of pixels and labels.
//
// LoadChip: one chip: reads the image file, decodes only the window the chip
// needs (DCT-scaled below 1x, row/column-cropped above), renders it into a
// canvas, and assigns its labels (valid boxes, ignore regions) in canvas
// coordinates, mirrored when flipped.
//
// ChipLoader: a prefetching, multi-threaded loader. Batch i of an epoch
// always holds chips [i * B, (i + 1) * B) of ChipSampler::Epoch's list, with
// flips drawn from (seed, epoch, chip position): the batches are the same
// whatever the thread count. Workers fill at most queue_depth batches ahead
// of the consumer; Next() returns them in order. A chip whose image is
// missing or corrupt fails the epoch (kFail, the error names the file) or is
// left out of its batch and counted (kSkip); never a crash or a silent hole.
// The destructor stops and joins the workers.
#ifndef SNIPER_DATA_CHIP_LOADER_H_
#define SNIPER_DATA_CHIP_LOADER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/chip_render.h"
#include "data/chip_sampler.h"
#include "data/coco_dataset.h"
#include "data/proposals.h"

namespace sniper::data {

struct ChipLoadStats {
  int64_t file_bytes = 0;      // bytes read from disk
  int64_t decoded_pixels = 0;  // pixels the decoder produced
};

// Pixels of `record` into `out` (ChipCanvasBytes(render) bytes) and its
// labels. Errors name the image file.
absl::Status LoadChip(const CocoDataset& dataset, const std::string& image_dir,
                      const ChipSampler& sampler, const ChipRecord& record,
                      bool flip, const ChipRenderOptions& render, void* out,
                      ChipLabels* labels, ChipLoadStats* stats);

enum class LoadErrorPolicy { kFail, kSkip };

struct ChipLoaderOptions {
  int32_t threads = 2;
  int32_t queue_depth = 4;  // batches prepared ahead of the consumer
  int32_t batch_size = 8;
  // Data-parallel training: this process is shard `shard_index` of
  // `num_shards`. A global batch of num_shards * batch_size chips is split
  // without overlap: batch i of shard s holds chips
  // [(i * num_shards + s) * batch_size, ... + batch_size); with more than
  // one shard, a last global batch that cannot give every shard a full
  // batch is dropped, so every rank takes the same number of steps.
  int32_t shard_index = 0;
  int32_t num_shards = 1;
  ChipRenderOptions render;
  bool flip = true;  // horizontal flip with probability 0.5
  uint64_t seed = 0;
  LoadErrorPolicy on_error = LoadErrorPolicy::kFail;
  // Batches of one canvas shape (GroupByShape below), so that tight
  // canvases (ChipSamplerConfig.canvas TIGHT) really cost fewer pixels.
  bool group_by_shape = false;
};

// The epoch's chips reordered so that each run of `group` consecutive
// chips (one global batch: batch_size x num_shards) holds chips of a single
// canvas shape (ChipShapeRule::CanvasSide of the window) wherever the epoch
// has `group` chips of that shape; the remainders of all shapes follow,
// largest canvases first, so that a mixed batch pads little. Batches are
// then shuffled as units by `seed` (the last, partial one stays last).
// Chip order within a shape keeps the epoch's (shuffled) order. A pure
// function: the same input gives the same order.
std::vector<ChipRecord> GroupByShape(absl::Span<const ChipRecord> chips,
                                     const ChipShapeRule& rule, int64_t group,
                                     uint64_t seed);

struct ChipBatch {
  int64_t index = 0;  // batch number within the epoch
  int32_t size = 0;   // chips present (<= batch_size)
  // The extent the network processes: the largest chip window in the batch
  // rounded up to 32 (to canvas_step with tight canvases), at most the
  // render canvas. Pixels outside it are padding nobody reads.
  int32_t canvas_width = 0;
  int32_t canvas_height = 0;
  std::vector<uint8_t> pixels;      // size * ChipCanvasBytes(render)
  std::vector<ChipRecord> records;  // per chip
  std::vector<uint8_t> flipped;     // per chip
  std::vector<ChipLabels> labels;   // per chip, canvas coordinates
  int32_t skipped = 0;              // chips left out (kSkip)
  std::vector<std::string> errors;  // why, one per skipped chip
  ChipLoadStats stats;
};

class ChipLoader {
 public:
  // `dataset`, `sampler` and `proposals` must outlive the loader.
  ChipLoader(const CocoDataset& dataset, std::string image_dir,
             const ChipSampler& sampler, const ProposalSet* proposals,
             ChipLoaderOptions options);
  ~ChipLoader();
  ChipLoader(const ChipLoader&) = delete;
  ChipLoader& operator=(const ChipLoader&) = delete;

  // Builds the epoch's chip list and starts the workers (stopping any
  // previous epoch) at batch `first_batch` (to resume mid-epoch: the
  // batches are those an uninterrupted epoch would give). Returns the
  // number of batches in the whole epoch.
  int64_t StartEpoch(uint64_t epoch, int64_t first_batch = 0);

  // The next batch in order; nullopt at the end of the epoch; an error
  // (kFail) stops the epoch.
  absl::StatusOr<std::optional<ChipBatch>> Next();

  int64_t chips_in_epoch() const { return static_cast<int64_t>(chips_.size()); }
  int64_t skipped_total() const { return skipped_total_; }

 private:
  void Stop();
  void Work();
  ChipBatch Build(int64_t index, absl::Status* error) const;

  const CocoDataset& dataset_;
  const std::string image_dir_;
  const ChipSampler& sampler_;
  const ProposalSet* proposals_;
  const ChipLoaderOptions options_;

  uint64_t epoch_ = 0;
  std::vector<ChipRecord> chips_;
  int64_t num_batches_ = 0;
  int64_t next_to_build_ = 0;           // guarded by mu_
  int64_t next_to_return_ = 0;          // guarded by mu_
  std::map<int64_t, ChipBatch> ready_;  // guarded by mu_
  absl::Status error_;                  // guarded by mu_
  bool stop_ = false;                   // guarded by mu_
  int64_t skipped_total_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
};

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_LOADER_H_
