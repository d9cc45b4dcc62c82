#include "data/proposals.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "port/proto_io.h"

namespace sniper::data {
namespace {

constexpr char kMagic[8] = {'S', 'N', 'I', 'P', 'R', 'O', 'P', 'S'};
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8;

template <typename T>
void Put(std::string* out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only (x86/ARM)
  out->append(bytes, sizeof(T));
}

uint32_t Crc32(absl::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large inputs in pieces.
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t n = std::min<size_t>(bytes.size() - offset, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + offset),
                static_cast<uInt>(n));
    offset += n;
  }
  return static_cast<uint32_t>(crc);
}

class Cursor {
 public:
  Cursor(absl::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Read(T* value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  size_t left() const { return bytes_.size() - pos_; }
  const char* here() const { return bytes_.data() + pos_; }
  void Skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }

 private:
  absl::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

void ProposalSet::Set(int64_t image_id,
                      const std::vector<std::vector<ScoredBox>>& per_scale) {
  Entry entry;
  entry.offset = boxes_.size();
  entry.counts.resize(num_scales_, 0);
  for (int s = 0; s < num_scales_ && s < static_cast<int>(per_scale.size());
       ++s) {
    entry.counts[s] = static_cast<uint32_t>(per_scale[s].size());
    boxes_.insert(boxes_.end(), per_scale[s].begin(), per_scale[s].end());
  }
  auto [it, inserted] = index_.insert_or_assign(image_id, std::move(entry));
  if (inserted) image_ids_.push_back(image_id);
}

absl::Span<const ScoredBox> ProposalSet::Get(int64_t image_id,
                                             int scale) const {
  auto it = index_.find(image_id);
  if (it == index_.end() || scale < 0 || scale >= num_scales_) return {};
  size_t offset = it->second.offset;
  for (int s = 0; s < scale; ++s) offset += it->second.counts[s];
  return absl::MakeConstSpan(boxes_).subspan(offset, it->second.counts[scale]);
}

absl::Status WriteProposals(const std::string& path, const ProposalSet& set) {
  std::string out;
  out.reserve(kHeaderSize + set.num_images() * (8 + 4 * set.num_scales()) +
              set.num_proposals() * 20 + 4);
  out.append(kMagic, sizeof(kMagic));
  Put<uint32_t>(&out, ProposalSet::kVersion);
  Put<uint32_t>(&out, static_cast<uint32_t>(set.num_scales()));
  Put<uint64_t>(&out, set.num_images());
  for (int64_t id : set.image_ids()) {
    Put<int64_t>(&out, id);
    for (int s = 0; s < set.num_scales(); ++s) {
      Put<uint32_t>(&out, static_cast<uint32_t>(set.Get(id, s).size()));
    }
    for (int s = 0; s < set.num_scales(); ++s) {
      for (const ScoredBox& p : set.Get(id, s)) {
        Put<float>(&out, p.box.x1);
        Put<float>(&out, p.box.y1);
        Put<float>(&out, p.box.x2);
        Put<float>(&out, p.box.y2);
        Put<float>(&out, p.score);
      }
    }
  }
  Put<uint32_t>(&out, Crc32(out));
  return WriteFileAtomically(path, out);
}

absl::StatusOr<ProposalSet> ParseProposals(absl::string_view bytes,
                                           absl::string_view source) {
  auto error = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(source, ": ", what));
  };
  if (bytes.size() < kHeaderSize + 4 ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return error("not a SNIPER proposals file (bad magic or too short)");
  }
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const absl::string_view body = bytes.substr(0, bytes.size() - 4);
  Cursor cur(body);
  cur.Skip(sizeof(kMagic));
  uint32_t version = 0, num_scales = 0;
  uint64_t num_images = 0;
  cur.Read(&version);
  cur.Read(&num_scales);
  cur.Read(&num_images);
  if (version != ProposalSet::kVersion) {
    return error(absl::StrCat("unsupported version ", version,
                              " (this reader: ", ProposalSet::kVersion, ")"));
  }
  const uint32_t computed_crc = Crc32(body);
  if (computed_crc != stored_crc) {
    return error("checksum mismatch (truncated or corrupted file)");
  }
  if (num_scales == 0 || num_scales > 64) {
    return error(
        absl::StrCat("num_scales must be in [1, 64], got ", num_scales));
  }
  // Each record takes at least 8 + 4 * S bytes.
  if (num_images > cur.left() / (8 + 4ull * num_scales)) {
    return error(absl::StrCat("header claims ", num_images,
                              " images, more than the file can hold"));
  }
  ProposalSet set(static_cast<int>(num_scales));
  std::vector<uint32_t> counts(num_scales);
  std::vector<std::vector<ScoredBox>> per_scale(num_scales);
  absl::flat_hash_map<int64_t, uint64_t> seen;
  for (uint64_t i = 0; i < num_images; ++i) {
    int64_t id;
    if (!cur.Read(&id)) return error(absl::StrCat("record ", i, " truncated"));
    if (auto [it, inserted] = seen.emplace(id, i); !inserted) {
      return error(absl::StrCat("image ", id, " appears twice (records ",
                                it->second, " and ", i, ")"));
    }
    uint64_t total = 0;
    for (uint32_t s = 0; s < num_scales; ++s) {
      if (!cur.Read(&counts[s])) {
        return error(absl::StrCat("image ", id, ": counts truncated"));
      }
      total += counts[s];
    }
    if (total > cur.left() / 20) {
      return error(absl::StrCat("image ", id, ": ", total,
                                " proposals exceed the file"));
    }
    for (uint32_t s = 0; s < num_scales; ++s) {
      per_scale[s].resize(counts[s]);
      for (uint32_t k = 0; k < counts[s]; ++k) {
        float v[5];
        std::memcpy(v, cur.here(), sizeof(v));
        cur.Skip(sizeof(v));
        ScoredBox& p = per_scale[s][k];
        p.box = {v[0], v[1], v[2], v[3]};
        p.score = v[4];
        if (!std::isfinite(v[0]) || !std::isfinite(v[1]) ||
            !std::isfinite(v[2]) || !std::isfinite(v[3]) ||
            !std::isfinite(v[4]) || v[2] < v[0] || v[3] < v[1]) {
          return error(absl::StrCat("image ", id, " scale ", s, " proposal ", k,
                                    ": invalid box [", v[0], ", ", v[1], ", ",
                                    v[2], ", ", v[3], "] score ", v[4]));
        }
      }
    }
    set.Set(id, per_scale);
  }
  if (cur.left() != 0) {
    return error(
        absl::StrCat(cur.left(), " unexpected bytes after the last record"));
  }
  return set;
}

absl::StatusOr<ProposalSet> ReadProposals(const std::string& path) {
  std::string bytes;
  absl::Status status = ReadFileToString(path, &bytes);
  if (!status.ok()) return status;
  return ParseProposals(bytes, path);
}

}  // namespace sniper::data
