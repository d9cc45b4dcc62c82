// A checkpoint's loss history tensor read back (sniper/checkpoint.h).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sniper/checkpoint.h"

namespace sniper {
namespace {

// Files written before the history named its columns hold these, in this
// order: 6 columns (no focus loss), 7 (no mask loss) or 8 (step and total
// first).
constexpr const char* kUnnamedHistoryTerms[] = {
    "rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box", "focus", "mask"};

}  // namespace

absl::StatusOr<LossHistory> LossHistoryFromTensor(
    const torch::Tensor& tensor, const std::vector<std::string>* names) {
  LossHistory history;
  const torch::Tensor h = tensor.cpu().to(torch::kFloat64).contiguous();
  if (names != nullptr) {
    history.names = *names;
  } else {
    const int64_t terms = h.dim() == 2 ? h.size(1) - 2 : -1;
    if (terms < 4 || terms > 6) {
      return absl::DataLossError(
          absl::StrCat("history: expected [n, 6..8] without history_names, "
                       "got [",
                       absl::StrJoin(h.sizes(), ", "), "]"));
    }
    history.names.assign(kUnnamedHistoryTerms, kUnnamedHistoryTerms + terms);
  }
  const int64_t columns = 2 + static_cast<int64_t>(history.names.size());
  if (h.dim() != 2 || h.size(1) != columns) {
    return absl::DataLossError(absl::StrCat(
        "history: expected [n, ", columns, "] for ", history.names.size(),
        " named loss terms, got [", absl::StrJoin(h.sizes(), ", "), "]"));
  }
  const double* p = h.data_ptr<double>();
  for (int64_t i = 0; i < h.size(0); ++i, p += columns) {
    history.rows.push_back({static_cast<int64_t>(p[0]), p[1],
                            std::vector<double>(p + 2, p + columns)});
  }
  return history;
}

}  // namespace sniper
