// File: data/testing/naive_chips.h
//
// The obviously-correct greedy cover: every round, count for every candidate
// chip how many uncovered boxes it contains (Chip::Contains), take the best
// (ties by TieRank), repeat. O(rounds * candidates * boxes). Test oracle and
// benchmark baseline for GreedyChipCover, which must return the same chips.
#ifndef SNIPER_DATA_TESTING_NAIVE_CHIPS_H_
#define SNIPER_DATA_TESTING_NAIVE_CHIPS_H_

#include <vector>

#include "absl/types/span.h"
#include "data/chips.h"

namespace sniper::testing {

inline std::vector<data::Chip> NaiveGreedyCover(
    const data::ImageAtScale& image, int32_t chip_size,
    absl::Span<const data::Box> boxes, uint64_t tie_seed, int min_count) {
  std::vector<int32_t> xs, ys;
  const int32_t ext_x = data::CandidatePositions(image.scaled_width, chip_size,
                                                 image.stride, &xs);
  const int32_t ext_y = data::CandidatePositions(image.scaled_height, chip_size,
                                                 image.stride, &ys);
  std::vector<data::Chip> candidates;  // row-major: cell = row * ncols + col
  for (int32_t y : ys) {
    for (int32_t x : xs) candidates.push_back({x, y, x + ext_x, y + ext_y});
  }
  std::vector<bool> covered(boxes.size(), false);
  std::vector<data::Chip> chosen;
  while (true) {
    int best = 0;
    int best_cell = -1;
    for (size_t cell = 0; cell < candidates.size(); ++cell) {
      int count = 0;
      for (size_t i = 0; i < boxes.size(); ++i) {
        if (!covered[i] && candidates[cell].Contains(boxes[i])) ++count;
      }
      if (count == 0) continue;
      if (count > best ||
          (count == best &&
           data::TieRank(tie_seed, static_cast<uint32_t>(cell)) <
               data::TieRank(tie_seed, static_cast<uint32_t>(best_cell)))) {
        best = count;
        best_cell = static_cast<int>(cell);
      }
    }
    if (best <= min_count) break;
    chosen.push_back(candidates[best_cell]);
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (candidates[best_cell].Contains(boxes[i])) covered[i] = true;
    }
  }
  return chosen;
}

}  // namespace sniper::testing

#endif  // SNIPER_DATA_TESTING_NAIVE_CHIPS_H_
