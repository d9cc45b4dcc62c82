// File: data/chip_cover.h
//
// A positive chip cover that needs fewer pixels than greedy's (issue #22).
//
// Greedy cover (data/chips.h) picks chip_size x chip_size windows on a stride
// grid and minimizes nothing in particular: it is the paper's ln(n)
// approximation of the smallest set cover. Here a cover is a PARTITION of the
// valid boxes into groups, one chip per group; a group's chip is the
// smallest allowed window holding the group's bounding rectangle, and its
// cost is the canvas the network processes (ChipShapeRule). Any containment
// cover gives such a partition of no higher cost (give each box to one chip
// that holds it, then shrink the chip to its boxes), so starting from
// greedy's chips and accepting only strict improvements never costs more
// pixels than greedy.
//
// First the fewest chip_size windows: an exact set cover by branch and
// bound over the maximal sets of boxes one window can hold (windows
// anchored at the boxes' left and top edges give all of them), pruned by
// the number of boxes no two of which share a window, within a node
// budget; greedy's count is the bound to beat. Then a local search,
// repeated until a pass changes nothing (or a pass limit): dissolve a
// group into the others, merge two groups, and with tight canvases move
// one box to another group and split a group in two (exhaustively for
// small groups, by sorted centres otherwise). With a fixed canvas every
// chip costs the same, so this minimizes the number of chips; with tight
// canvases it trades chip count against chip area. Per image and scale
// the instances are small (a few boxes), and the search allocates nothing
// once its scratch buffers have grown.
//
// Placement: a group's window lies anywhere that holds its rectangle inside
// the image; the position is drawn from `seed` (uniform over the feasible
// range), so epochs see objects at different offsets in their chips, as
// greedy's stride jitter and tie order give.
#ifndef SNIPER_DATA_CHIP_COVER_H_
#define SNIPER_DATA_CHIP_COVER_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "data/chips.h"

namespace sniper::data {

// The window `rule` gives a group whose bounding rectangle is [x1, x2) x
// [y1, y2) (scaled pixels, inside the image, each side at most chip_size
// where the image is larger): per side the image's side where it is at most
// chip_size, else chip_size with fixed canvases, or the span rounded up to
// `step` and at least `min_side` with tight ones. The window sits at a
// uniformly drawn position (`rx`, `ry`: random words) among those inside
// the image that hold the rectangle.
Chip PlaceWindow(const ImageAtScale& image, const ChipShapeRule& rule,
                 int32_t x1, int32_t y1, int32_t x2, int32_t y2, uint64_t rx,
                 uint64_t ry);

struct CoverSearchStats {
  bool exact = false;  // the exact search found fewer windows than greedy
  int64_t nodes = 0;   // branch-and-bound nodes visited
  int32_t passes = 0;  // local-search passes run
  int32_t moves = 0;   // improvements applied
};

// Improves a cover, reusing scratch memory between calls. Not thread-safe;
// use one per thread.
class ChipCoverOptimizer {
 public:
  // `boxes` are scaled and clipped to the image, each of which fits a chip
  // (IsValidAtScale); `chips` covers all of them (e.g. greedy's, in pick
  // order). Replaces `chips` by a cover of the same boxes whose total
  // canvas pixels under `rule` are at most those of the input's, with
  // windows placed by `seed`.
  CoverSearchStats Improve(const ImageAtScale& image, const ChipShapeRule& rule,
                           absl::Span<const Box> boxes, uint64_t seed,
                           std::vector<Chip>* chips);

  // The most local-search passes per call (each pass is O(n^2) in boxes).
  static constexpr int kMaxPasses = 12;
  // The exact minimum-window search runs up to this many boxes, within
  // this many branch-and-bound nodes (then the best cover found so far).
  static constexpr size_t kMaxExactBoxes = 32;
  static constexpr int64_t kMaxNodes = 2000;

 private:
  // Integer bounding rectangle [x1, x2) x [y1, y2).
  struct Rect {
    int32_t x1, y1, x2, y2;
    bool empty() const { return x1 >= x2; }
    static Rect Empty() { return {1 << 30, 1 << 30, -(1 << 30), -(1 << 30)}; }
    Rect Union(const Rect& o) const {
      return {x1 < o.x1 ? x1 : o.x1, y1 < o.y1 ? y1 : o.y1,
              x2 > o.x2 ? x2 : o.x2, y2 > o.y2 ? y2 : o.y2};
    }
  };
  struct Group {
    Rect rect;
    int32_t size = 0;
    int64_t cost = 0;
  };

  int64_t Cost(const Rect& r) const;  // kInfeasible if r does not fit
  void Rebuild(int g);                // rect, size, cost of group g
  bool Dissolve(int g);
  bool MoveBoxes();
  bool Merge();
  bool Split(int g);
  void SortByCentre(int axis);  // members_ by box centre
  void Compact();               // drops empty groups
  // Exact minimum number of chip_size windows (set cover by branch and
  // bound over the maximal sets of boxes a window holds). If it beats
  // `current` windows, makes its windows the groups and returns true.
  bool ExactCount(int current);
  void MaximalWindows();  // sets_
  int LowerBound(uint64_t uncovered) const;
  void Search(uint64_t uncovered, int depth);

  // Per call.
  ImageAtScale image_;
  ChipShapeRule rule_;
  std::vector<Rect> box_rects_;
  std::vector<int32_t> group_of_;
  std::vector<Group> groups_;
  // Scratch.
  std::vector<Group> trial_;
  std::vector<int32_t> members_;
  std::vector<int32_t> order_;
  // Exact search.
  std::vector<uint64_t> sets_;
  std::vector<std::pair<int, uint64_t>> ranked_;
  std::vector<int32_t> lefts_, tops_;
  std::vector<uint64_t> row_masks_;
  std::vector<uint64_t> reach_;      // per box: boxes sharing a window
  std::vector<int32_t> windows_of_;  // per box: windows holding it
  std::vector<int32_t> branch_, path_, best_;
  int best_depth_ = 0;
  int64_t nodes_ = 0;
};

}  // namespace sniper::data

#endif  // SNIPER_DATA_CHIP_COVER_H_
