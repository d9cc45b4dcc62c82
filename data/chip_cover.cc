#include "data/chip_cover.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sniper::data {
namespace {

constexpr int64_t kInfeasible = std::numeric_limits<int64_t>::max() / 4;

// Exhaustive two-way splits up to this many boxes (2^(k-1) candidates).
constexpr int32_t kMaxExhaustiveSplit = 8;

// Bits set (SWAR: the build targets baseline x86-64, without POPCNT, where
// Popcount is a library call).
inline int Popcount(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
}

// Uniform in [0, n) from a 64-bit hash (Lemire's multiply-shift).
int32_t Below(uint64_t r, int32_t n) {
  return static_cast<int32_t>(
      (static_cast<unsigned __int128>(r) * static_cast<uint64_t>(n)) >> 64);
}

int32_t WindowSide(const ChipShapeRule& rule, int32_t span,
                   int32_t image_side) {
  const int32_t s = rule.chip_size;
  if (image_side <= s) return image_side;
  if (!rule.tight) return s;
  const int32_t rounded = (span + rule.step - 1) / rule.step * rule.step;
  return std::max(rule.min_side, rounded);
}

}  // namespace

Chip PlaceWindow(const ImageAtScale& image, const ChipShapeRule& rule,
                 int32_t x1, int32_t y1, int32_t x2, int32_t y2, uint64_t rx,
                 uint64_t ry) {
  const int32_t w = image.scaled_width, h = image.scaled_height;
  const int32_t wx = WindowSide(rule, x2 - x1, w);
  const int32_t wy = WindowSide(rule, y2 - y1, h);
  // Feasible left edges: x <= x1, x + wx >= x2, inside [0, w - wx].
  const int32_t lo_x = std::max(0, x2 - wx);
  const int32_t hi_x = std::max(lo_x, std::min(x1, w - wx));
  const int32_t lo_y = std::max(0, y2 - wy);
  const int32_t hi_y = std::max(lo_y, std::min(y1, h - wy));
  const int32_t x = lo_x + Below(rx, hi_x - lo_x + 1);
  const int32_t y = lo_y + Below(ry, hi_y - lo_y + 1);
  return {x, y, x + wx, y + wy};
}

int64_t ChipCoverOptimizer::Cost(const Rect& r) const {
  if (r.empty()) return 0;
  const int32_t sx = r.x2 - r.x1, sy = r.y2 - r.y1;
  const int32_t s = rule_.chip_size;
  const int32_t w = image_.scaled_width, h = image_.scaled_height;
  if ((w > s && sx > s) || (h > s && sy > s)) return kInfeasible;
  return static_cast<int64_t>(rule_.CanvasSide(WindowSide(rule_, sx, w))) *
         rule_.CanvasSide(WindowSide(rule_, sy, h));
}

void ChipCoverOptimizer::Rebuild(int g) {
  Group& group = groups_[g];
  group.rect = Rect::Empty();
  group.size = 0;
  for (size_t i = 0; i < group_of_.size(); ++i) {
    if (group_of_[i] != g) continue;
    group.rect = group.rect.Union(box_rects_[i]);
    ++group.size;
  }
  group.cost = Cost(group.rect);
}

void ChipCoverOptimizer::Compact() {
  int32_t next = 0;
  order_.assign(groups_.size(), -1);
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].size == 0) continue;
    order_[g] = next;
    groups_[next++] = groups_[g];
  }
  groups_.resize(next);
  for (int32_t& g : group_of_) g = order_[g];
}

bool ChipCoverOptimizer::Dissolve(int g) {
  if (groups_[g].size == 0 || groups_.size() < 2) return false;
  trial_ = groups_;
  members_.clear();
  int64_t added = 0;
  for (size_t i = 0; i < group_of_.size(); ++i) {
    if (group_of_[i] != g) continue;
    int best = -1;
    int64_t best_delta = kInfeasible;
    for (size_t h = 0; h < trial_.size(); ++h) {
      if (static_cast<int>(h) == g || trial_[h].size == 0) continue;
      const int64_t c = Cost(trial_[h].rect.Union(box_rects_[i]));
      if (c >= kInfeasible) continue;
      if (c - trial_[h].cost < best_delta) {
        best_delta = c - trial_[h].cost;
        best = static_cast<int>(h);
      }
    }
    if (best < 0) return false;
    added += best_delta;
    if (added >= groups_[g].cost) return false;
    trial_[best].rect = trial_[best].rect.Union(box_rects_[i]);
    trial_[best].cost += best_delta;
    members_.push_back(best);
  }
  size_t k = 0;
  for (size_t i = 0; i < group_of_.size(); ++i) {
    if (group_of_[i] == g) group_of_[i] = members_[k++];
  }
  for (size_t h = 0; h < trial_.size(); ++h) {
    if (static_cast<int>(h) == g) continue;
    groups_[h] = trial_[h];
  }
  Rebuild(g);  // now empty
  for (int32_t h : members_) Rebuild(h);
  return true;
}

bool ChipCoverOptimizer::MoveBoxes() {
  bool changed = false;
  for (size_t i = 0; i < group_of_.size(); ++i) {
    const int g = group_of_[i];
    Rect without = Rect::Empty();
    for (size_t j = 0; j < group_of_.size(); ++j) {
      if (j != i && group_of_[j] == g) without = without.Union(box_rects_[j]);
    }
    const int64_t base = groups_[g].cost - Cost(without);
    int best = -1;
    int64_t best_gain = 0;
    for (size_t h = 0; h < groups_.size(); ++h) {
      if (static_cast<int>(h) == g || groups_[h].size == 0) continue;
      const int64_t c = Cost(groups_[h].rect.Union(box_rects_[i]));
      if (c >= kInfeasible) continue;
      const int64_t gain = base - (c - groups_[h].cost);
      if (gain > best_gain) {
        best_gain = gain;
        best = static_cast<int>(h);
      }
    }
    if (best < 0) continue;
    group_of_[i] = best;
    Rebuild(g);
    Rebuild(best);
    changed = true;
  }
  return changed;
}

bool ChipCoverOptimizer::Merge() {
  bool changed = false;
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].size == 0) continue;
    for (size_t h = g + 1; h < groups_.size(); ++h) {
      if (groups_[h].size == 0) continue;
      const int64_t c = Cost(groups_[g].rect.Union(groups_[h].rect));
      if (c >= groups_[g].cost + groups_[h].cost) continue;
      for (int32_t& x : group_of_) {
        if (x == static_cast<int32_t>(h)) x = static_cast<int32_t>(g);
      }
      Rebuild(static_cast<int>(g));
      Rebuild(static_cast<int>(h));
      changed = true;
    }
  }
  return changed;
}

void ChipCoverOptimizer::SortByCentre(int axis) {
  // A total order (centre, then index), so that sorting twice gives the
  // same sequence.
  std::sort(members_.begin(), members_.end(), [&](int32_t p, int32_t q) {
    const Rect& a = box_rects_[p];
    const Rect& b = box_rects_[q];
    const int32_t ca = axis == 0 ? a.x1 + a.x2 : a.y1 + a.y2;
    const int32_t cb = axis == 0 ? b.x1 + b.x2 : b.y1 + b.y2;
    return ca != cb ? ca < cb : p < q;
  });
}

bool ChipCoverOptimizer::Split(int g) {
  members_.clear();
  for (size_t i = 0; i < group_of_.size(); ++i) {
    if (group_of_[i] == g) members_.push_back(static_cast<int32_t>(i));
  }
  const int32_t k = static_cast<int32_t>(members_.size());
  if (k < 2) return false;
  // Two chips cost at least twice the smallest canvas.
  if (groups_[g].cost <= 2 * Cost(Rect{0, 0, 1, 1})) return false;
  int64_t best = groups_[g].cost;
  // The best split as a predicate over members_: exhaustive masks, or a
  // prefix of members_ sorted along an axis.
  uint32_t best_mask = 0;
  int32_t best_prefix = 0;
  int best_axis = -1;
  if (k <= kMaxExhaustiveSplit) {
    // Member 0 always stays; mask bit j moves member j to the new group.
    for (uint32_t mask = 2; mask < (1u << k); mask += 2) {
      Rect a = Rect::Empty(), b = Rect::Empty();
      for (int32_t j = 0; j < k; ++j) {
        const Rect& r = box_rects_[members_[j]];
        if (mask & (1u << j)) {
          b = b.Union(r);
        } else {
          a = a.Union(r);
        }
      }
      const int64_t ca = Cost(a), cb = Cost(b);
      if (ca >= kInfeasible || cb >= kInfeasible) continue;
      if (ca + cb < best) {
        best = ca + cb;
        best_mask = mask;
      }
    }
  } else {
    for (int axis = 0; axis < 2; ++axis) {
      SortByCentre(axis);
      // Suffix rectangles in trial_'s rects (scratch).
      trial_.resize(k + 1);
      trial_[k].rect = Rect::Empty();
      for (int32_t j = k - 1; j >= 0; --j) {
        trial_[j].rect = trial_[j + 1].rect.Union(box_rects_[members_[j]]);
      }
      Rect prefix = Rect::Empty();
      for (int32_t j = 1; j < k; ++j) {
        prefix = prefix.Union(box_rects_[members_[j - 1]]);
        const int64_t ca = Cost(prefix), cb = Cost(trial_[j].rect);
        if (ca >= kInfeasible || cb >= kInfeasible) continue;
        if (ca + cb < best) {
          best = ca + cb;
          best_axis = axis;
          best_prefix = j;
        }
      }
    }
    if (best_axis == 0) SortByCentre(0);  // sorted along y now
  }
  if (best >= groups_[g].cost) return false;
  const int32_t fresh = static_cast<int32_t>(groups_.size());
  groups_.push_back(Group());
  for (int32_t j = 0; j < k; ++j) {
    const bool moves =
        best_axis < 0 ? (best_mask & (1u << j)) != 0 : j >= best_prefix;
    if (moves) group_of_[members_[j]] = fresh;
  }
  Rebuild(g);
  Rebuild(fresh);
  return true;
}

void ChipCoverOptimizer::MaximalWindows() {
  // A window holding a set of boxes can slide right and down until its
  // left and top edges meet the set's leftmost and topmost box (clamped to
  // the image) and still hold them: windows anchored at (box x1, box y1)
  // pairs give every maximal set.
  const int32_t s = rule_.chip_size;
  const int32_t w = image_.scaled_width, h = image_.scaled_height;
  const size_t n = box_rects_.size();
  sets_.clear();
  // Distinct anchors per axis (the whole side where the image fits).
  lefts_.clear();
  tops_.clear();
  for (size_t i = 0; i < (w > s ? n : 0); ++i) {
    lefts_.push_back(std::min(box_rects_[i].x1, w - s));
  }
  for (size_t i = 0; i < (h > s ? n : 0); ++i) {
    tops_.push_back(std::min(box_rects_[i].y1, h - s));
  }
  if (lefts_.empty()) lefts_.push_back(0);
  if (tops_.empty()) tops_.push_back(0);
  for (std::vector<int32_t>* v : {&lefts_, &tops_}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  // A window's set is (boxes inside its columns) & (boxes inside its rows).
  row_masks_.clear();
  for (const int32_t top : tops_) {
    const int32_t bottom = h > s ? top + s : h;
    uint64_t mask = 0;
    for (size_t i = 0; i < n; ++i) {
      const Rect& r = box_rects_[i];
      if (r.y1 >= top && r.y2 <= bottom) mask |= uint64_t{1} << i;
    }
    row_masks_.push_back(mask);
  }
  for (const int32_t left : lefts_) {
    const int32_t right = w > s ? left + s : w;
    uint64_t columns = 0;
    for (size_t i = 0; i < n; ++i) {
      const Rect& r = box_rects_[i];
      if (r.x1 >= left && r.x2 <= right) columns |= uint64_t{1} << i;
    }
    for (const uint64_t rows : row_masks_) {
      if ((columns & rows) != 0) sets_.push_back(columns & rows);
    }
  }
  // Largest first, then drop duplicates and subsets of a kept set.
  ranked_.clear();
  for (uint64_t set : sets_) ranked_.emplace_back(-Popcount(set), set);
  std::sort(ranked_.begin(), ranked_.end());
  sets_.clear();
  for (const auto& [neg_count, set] : ranked_) {
    bool subset = false;
    for (size_t j = 0; j < sets_.size() && !subset; ++j) {
      subset = (set & ~sets_[j]) == 0;
    }
    if (!subset) sets_.push_back(set);
  }
  reach_.assign(n, 0);
  windows_of_.assign(n, 0);
  for (uint64_t set : sets_) {
    for (uint64_t rest = set; rest != 0; rest &= rest - 1) {
      const int e = __builtin_ctzll(rest);
      reach_[e] |= set;
      ++windows_of_[e];
    }
  }
}

int ChipCoverOptimizer::LowerBound(uint64_t uncovered) const {
  // Boxes no two of which share a window need a window each.
  int bound = 0;
  while (uncovered != 0) {
    uncovered &= ~reach_[__builtin_ctzll(uncovered)];
    ++bound;
  }
  return bound;
}

void ChipCoverOptimizer::Search(uint64_t uncovered, int depth) {
  if (++nodes_ > kMaxNodes) return;
  if (uncovered == 0) {
    if (depth < best_depth_) {
      best_depth_ = depth;
      best_.assign(path_.begin(), path_.begin() + depth);
    }
    return;
  }
  if (depth + LowerBound(uncovered) >= best_depth_) return;
  // Branch on the uncovered box with the fewest windows, largest gain
  // first.
  int pick = -1, fewest = 1 << 30;
  for (uint64_t rest = uncovered; rest != 0; rest &= rest - 1) {
    const int e = __builtin_ctzll(rest);
    if (windows_of_[e] < fewest) {
      fewest = windows_of_[e];
      pick = e;
    }
  }
  const size_t first = branch_.size();
  for (size_t k = 0; k < sets_.size(); ++k) {
    if (sets_[k] >> pick & 1) branch_.push_back(static_cast<int32_t>(k));
  }
  std::sort(branch_.begin() + first, branch_.end(), [&](int32_t a, int32_t b) {
    return Popcount(sets_[a] & uncovered) > Popcount(sets_[b] & uncovered);
  });
  for (size_t k = first; k < branch_.size() && nodes_ <= kMaxNodes; ++k) {
    if (static_cast<int>(path_.size()) <= depth) path_.resize(depth + 1);
    path_[depth] = branch_[k];
    Search(uncovered & ~sets_[branch_[k]], depth + 1);
  }
  branch_.resize(first);
}

bool ChipCoverOptimizer::ExactCount(int current) {
  const size_t n = box_rects_.size();
  if (n > kMaxExactBoxes) return false;
  MaximalWindows();
  nodes_ = 0;
  best_depth_ = current;
  best_.clear();
  branch_.clear();
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  Search(all, 0);
  if (best_.empty()) return false;  // no cover with fewer windows found
  groups_.assign(best_.size(), Group());
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < best_.size(); ++k) {
      if (sets_[best_[k]] >> i & 1) {
        group_of_[i] = static_cast<int32_t>(k);
        break;
      }
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) Rebuild(static_cast<int>(g));
  return true;
}

CoverSearchStats ChipCoverOptimizer::Improve(const ImageAtScale& image,
                                             const ChipShapeRule& rule,
                                             absl::Span<const Box> boxes,
                                             uint64_t seed,
                                             std::vector<Chip>* chips) {
  CoverSearchStats stats;
  if (boxes.empty()) {
    chips->clear();
    return stats;
  }
  image_ = image;
  rule_ = rule;
  box_rects_.resize(boxes.size());
  group_of_.assign(boxes.size(), -1);
  groups_.assign(chips->size(), Group());
  int64_t input_cost = 0;
  for (const Chip& c : *chips) input_cost += rule.CanvasPixels(c);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    box_rects_[i] = {static_cast<int32_t>(std::floor(b.x1)),
                     static_cast<int32_t>(std::floor(b.y1)),
                     static_cast<int32_t>(std::ceil(b.x2)),
                     static_cast<int32_t>(std::ceil(b.y2))};
    for (size_t c = 0; c < chips->size(); ++c) {
      if ((*chips)[c].Contains(b)) {
        group_of_[i] = static_cast<int32_t>(c);
        break;
      }
    }
    if (group_of_[i] < 0) {  // not covered by the input: a group of its own
      group_of_[i] = static_cast<int32_t>(groups_.size());
      groups_.push_back(Group());
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) Rebuild(static_cast<int>(g));
  Compact();
  // Fewest windows first (exact within a node budget), then pixels.
  // One window is already the fewest.
  nodes_ = 0;
  if (groups_.size() > 1) {
    stats.exact = ExactCount(static_cast<int>(groups_.size()));
  }
  stats.nodes = nodes_;
  // With a fixed canvas every nonempty chip costs the same: only fewer
  // chips help, and one chip cannot get fewer.
  const bool search = rule_.tight || groups_.size() > 1;

  for (; search && stats.passes < kMaxPasses; ++stats.passes) {
    int moves = 0;
    moves += Merge();
    for (size_t g = 0; g < groups_.size(); ++g) {
      moves += Dissolve(static_cast<int>(g));
    }
    if (rule_.tight) {
      // Moves change no cost with a fixed canvas unless they empty a
      // group, which Dissolve covers.
      moves += MoveBoxes();
      const size_t n = groups_.size();
      for (size_t g = 0; g < n; ++g) moves += Split(static_cast<int>(g));
    }
    Compact();
    stats.moves += moves;
    if (moves == 0) {
      ++stats.passes;
      break;
    }
  }

  int64_t cost = 0;
  for (const Group& g : groups_) cost += g.cost;
  if (cost > input_cost) return stats;  // keep the input (never worse)

  chips->clear();
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Rect& r = groups_[g].rect;
    chips->push_back(PlaceWindow(image, rule, r.x1, r.y1, r.x2, r.y2,
                                 Mix64(seed + 2 * g + 1),
                                 Mix64(seed + 2 * g + 2)));
  }
  return stats;
}

}  // namespace sniper::data
