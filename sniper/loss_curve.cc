#include "sniper/loss_curve.h"

#include <utility>
#include <vector>

#include "data/image_io.h"
#include "port/status_macros.h"
#include "viz/plot.h"

namespace sniper {

absl::StatusOr<bool> WriteLossCurve(const std::string& path,
                                    const std::vector<StageLosses>& stages) {
  std::vector<data::RgbImage> panels;
  for (const StageLosses& stage : stages) {
    const LossHistory& history = stage.history;
    if (history.empty()) continue;
    std::vector<viz::Series> series = {{"total", {0, 0, 0}, {}}};
    for (const LossHistory::Row& row : history.rows) {
      series[0].points.push_back({static_cast<double>(row.step), row.total});
    }
    for (size_t k = 0; k < history.names.size(); ++k) {
      // Older checkpoints' histories hold 0 for the terms a model lacked.
      viz::Series s{
          history.names[k], viz::PaletteColor(static_cast<int>(k)), {}};
      bool trained = false;
      for (const LossHistory::Row& row : history.rows) {
        s.points.push_back({static_cast<double>(row.step), row.terms[k]});
        trained = trained || row.terms[k] != 0;
      }
      if (trained) series.push_back(std::move(s));
    }
    panels.push_back(viz::PlotSeries(stage.title, "step", series, 1000, 420,
                                     /*log_y=*/true));
  }
  if (panels.empty()) return false;
  RETURN_IF_ERROR(data::WritePngFile(path, viz::StackVertically(panels)));
  return true;
}

}  // namespace sniper
