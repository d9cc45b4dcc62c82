// File: data/proposals.h
//
// Region proposals per image and scale, in ORIGINAL image pixels, as the
// short-schedule RPN writes them and the chip sampler reads them to mine
// negative chips (SNIPER.md section 4).
//
// File format "SNIPER proposals", version 1, little-endian:
//
//   offset  size  field
//   0       8     magic "SNIPROPS"
//   8       4     uint32 version (= 1)
//   12      4     uint32 num_scales (S >= 1)
//   16      8     uint64 num_images (N)
//   then N records, each:
//           8     int64 image_id (unique in the file)
//           4*S   uint32 count per scale (c_0 .. c_{S-1})
//           20*sum(c) per scale in order, per proposal five float32:
//                 x1, y1, x2, y2 (x2 >= x1, y2 >= y1, finite), score (finite)
//   trailer 4     uint32 CRC-32 (zlib) of every byte before it
//
// Records need not be sorted. Writing is atomic (temp file, fsync, rename).
// Reading checks the magic, version, sizes against the file length, the CRC,
// duplicate image ids and non-finite or inverted boxes, and names the file
// and the image on error. Version 1 readers reject other versions.
#ifndef SNIPER_DATA_PROPOSALS_H_
#define SNIPER_DATA_PROPOSALS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/chips.h"

namespace sniper::data {

struct ScoredBox {
  Box box;
  float score = 0;
};

class ProposalSet {
 public:
  static constexpr uint32_t kVersion = 1;

  explicit ProposalSet(int num_scales = 1) : num_scales_(num_scales) {}

  int num_scales() const { return num_scales_; }
  size_t num_images() const { return index_.size(); }
  size_t num_proposals() const { return boxes_.size(); }

  // Sets the proposals of (image_id, every scale). `per_scale` has
  // num_scales() entries. Replaces an earlier entry for the image.
  void Set(int64_t image_id,
           const std::vector<std::vector<ScoredBox>>& per_scale);

  // Proposals of an image at a scale (empty if the image has none).
  absl::Span<const ScoredBox> Get(int64_t image_id, int scale) const;

  // Whether the file has an entry for the image (maybe with no boxes).
  bool Contains(int64_t image_id) const { return index_.contains(image_id); }

  // Image ids in insertion order.
  const std::vector<int64_t>& image_ids() const { return image_ids_; }

 private:
  struct Entry {
    size_t offset;
    std::vector<uint32_t> counts;
  };
  int num_scales_;
  std::vector<ScoredBox> boxes_;
  std::vector<int64_t> image_ids_;
  absl::flat_hash_map<int64_t, Entry> index_;
};

absl::Status WriteProposals(const std::string& path, const ProposalSet& set);
absl::StatusOr<ProposalSet> ReadProposals(const std::string& path);
// Parses the bytes of a proposals file; `source` names it in errors.
absl::StatusOr<ProposalSet> ParseProposals(absl::string_view bytes,
                                           absl::string_view source);

}  // namespace sniper::data

#endif  // SNIPER_DATA_PROPOSALS_H_
