#include "sniper/loss_curve.h"

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "data/image_io.h"
#include "port/status_macros.h"
#include "viz/plot.h"

namespace sniper {

std::string LossPanelTitle(absl::string_view stage) {
  return absl::StrCat(stage, stage == "rpn" ? " stage: short-schedule RPN loss"
                                            : " stage: detector loss");
}

namespace {

// One metrics.csv row's cells, by column.
std::vector<std::string> Cells(const std::string& line) {
  return absl::StrSplit(line, ',');
}

}  // namespace

absl::StatusOr<std::vector<StageLosses>> LossesFromMetricsCsv(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string line;
  if (!std::getline(in, line)) {
    return absl::DataLossError(absl::StrCat(path, ": empty"));
  }
  const std::vector<std::string> header = Cells(line);
  int stage_col = -1, step_col = -1, loss_col = -1;
  std::vector<int> term_cols;
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c] == "stage") stage_col = static_cast<int>(c);
    if (header[c] == "step") step_col = static_cast<int>(c);
    if (header[c] == "loss") loss_col = static_cast<int>(c);
    if (IsLossTerm(header[c]) && header[c] != "stage" && header[c] != "step") {
      term_cols.push_back(static_cast<int>(c));
    }
  }
  if (stage_col < 0 || step_col < 0 || loss_col < 0) {
    return absl::DataLossError(absl::StrCat(
        path, ":1: the header needs stage, step and loss columns"));
  }
  // Per stage: rows of (step, total, every term column; NaN where empty).
  std::vector<int> columns = {step_col, loss_col};
  columns.insert(columns.end(), term_cols.begin(), term_cols.end());
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::vector<double>>> rows;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = Cells(line);
    if (cells.size() != header.size()) {
      return absl::DataLossError(
          absl::StrCat(path, ":", number, ": ", cells.size(),
                       " cells, the header has ", header.size()));
    }
    std::vector<double> row;
    for (int c : columns) {
      double v = std::nan("");
      if (!cells[c].empty() && !absl::SimpleAtod(cells[c], &v)) {
        return absl::DataLossError(absl::StrCat(path, ":", number, ": '",
                                                cells[c], "' in column ",
                                                header[c], " is no number"));
      }
      row.push_back(v);
    }
    if (std::isnan(row[0]) || std::isnan(row[1])) continue;  // no loss logged
    const std::string& stage = cells[stage_col];
    if (!rows.count(stage)) order.push_back(stage);
    rows[stage].push_back(std::move(row));
  }
  std::vector<StageLosses> out;
  for (const std::string& stage : order) {
    StageLosses s{LossPanelTitle(stage), {}};
    std::vector<size_t> used;  // term columns with a value in this stage
    for (size_t k = 0; k < term_cols.size(); ++k) {
      for (const std::vector<double>& r : rows[stage]) {
        if (!std::isnan(r[2 + k])) {
          used.push_back(k);
          s.history.names.push_back(header[term_cols[k]]);
          break;
        }
      }
    }
    for (const std::vector<double>& r : rows[stage]) {
      LossHistory::Row row{static_cast<int64_t>(r[0]), r[1], {}};
      for (size_t k : used)
        row.terms.push_back(std::isnan(r[2 + k]) ? 0 : r[2 + k]);
      s.history.rows.push_back(std::move(row));
    }
    out.push_back(std::move(s));
  }
  return out;
}

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
