#include "sniper/metrics.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "sniper/event_writer.h"
#include "sniper/run_log.h"

namespace sniper {
namespace {

bool IsRate(absl::string_view name) {
  return name == kLearningRate || name == kChipsPerSecond ||
         name == kImagesPerSecond || name == kPixelsPerImage;
}

double Or(const Metrics& m, absl::string_view name, double fallback) {
  return m.Get(name).value_or(fallback);
}

// How a metrics.csv column is printed.
enum class CsvStyle { kInteger, kSixDigits, kFourDecimals };
CsvStyle StyleOf(absl::string_view name) {
  if (name == kEpoch) return CsvStyle::kInteger;
  if (name == kChipsPerSecond || name == kImagesPerSecond) {
    return CsvStyle::kFourDecimals;
  }
  return CsvStyle::kSixDigits;
}

std::string CsvCell(CsvStyle style, double v) {
  switch (style) {
    case CsvStyle::kInteger:
      return absl::StrFormat("%.0f", v);
    case CsvStyle::kSixDigits:
      return absl::StrFormat("%.6g", v);
    case CsvStyle::kFourDecimals:
      return absl::StrFormat("%.4f", v);
  }
  return "";
}

}  // namespace

Metrics& Metrics::Set(absl::string_view name, double value) {
  for (auto& [n, v] : values_) {
    if (n == name) {
      v = value;
      return *this;
    }
  }
  values_.emplace_back(std::string(name), value);
  return *this;
}

Metrics& Metrics::SetLosses(double total, const std::vector<std::string>& names,
                            const std::vector<double>& terms) {
  Set(kLoss, total);
  for (size_t k = 0; k < names.size(); ++k) {
    Set(names[k], k < terms.size() ? terms[k] : NAN);
  }
  return *this;
}

std::optional<double> Metrics::Get(absl::string_view name) const {
  for (const auto& [n, v] : values_) {
    if (n == name) return v;
  }
  return std::nullopt;
}

bool IsBookkeeping(absl::string_view name) {
  return name == kEpoch || name == kTotalSteps || name == kEtaSeconds;
}

bool IsLossTerm(absl::string_view name) {
  return !IsBookkeeping(name) && !IsRate(name) && name != kLoss;
}

void MetricsFanout::Add(std::unique_ptr<MetricsSink> sink) {
  sinks_.push_back(sink.get());
  owned_.push_back(std::move(sink));
}

void MetricsFanout::AddUnowned(MetricsSink* sink) { sinks_.push_back(sink); }

absl::Status MetricsFanout::Log(absl::string_view stage, int64_t step,
                                const Metrics& metrics) {
  for (MetricsSink* sink : sinks_) {
    RETURN_IF_ERROR(sink->Log(stage, step, metrics));
  }
  return absl::OkStatus();
}

std::string ProgressLineSink::Format(absl::string_view stage, int64_t step,
                                     const Metrics& m) {
  std::string line = absl::StrFormat("[%s] step %d", stage, step);
  if (const auto total = m.Get(kTotalSteps)) {
    absl::StrAppendFormat(&line, "/%.0f", *total);
  }
  if (const auto epoch = m.Get(kEpoch)) {
    absl::StrAppendFormat(&line, "  epoch %.0f", *epoch);
  }
  for (const auto& [name, value] : m.values()) {
    if (IsBookkeeping(name) || IsRate(name)) continue;
    absl::StrAppendFormat(&line, "  %s %.4f", name, value);
  }
  if (const auto lr = m.Get(kLearningRate)) {
    absl::StrAppendFormat(&line, "  lr %.4g", *lr);
  }
  if (const auto v = m.Get(kChipsPerSecond)) {
    absl::StrAppendFormat(&line, "  %.2f chips/s", *v);
  }
  if (const auto v = m.Get(kImagesPerSecond)) {
    absl::StrAppendFormat(&line, "  %.2f images/s", *v);
  }
  if (const auto v = m.Get(kPixelsPerImage)) {
    absl::StrAppendFormat(&line, "  %.0fk px/image", *v / 1e3);
  }
  if (const auto eta = m.Get(kEtaSeconds)) {
    absl::StrAppend(&line, "  ETA ", FormatDuration(*eta));
  }
  return line;
}

absl::Status ProgressLineSink::Log(absl::string_view stage, int64_t step,
                                   const Metrics& metrics) {
  log_.Progress(Format(stage, step, metrics));
  return absl::OkStatus();
}

namespace {

// The last step per stage of an existing metrics.csv, and the length of
// its complete rows (a row cut short by a kill has no newline).
struct CsvState {
  absl::flat_hash_map<std::string, int64_t> last_step;
  size_t complete_bytes = 0;
  std::vector<std::string> columns;  // the header's, after stage and step
};

std::vector<std::string> NewFileColumns(
    const std::vector<std::string>& loss_terms) {
  std::vector<std::string> out = {kEpoch, kLearningRate, kLoss};
  out.insert(out.end(), loss_terms.begin(), loss_terms.end());
  out.insert(out.end(), {kChipsPerSecond, kImagesPerSecond});
  return out;
}

absl::StatusOr<CsvState> ReadCsvState(const std::string& path) {
  CsvState state;
  std::string text;
  RETURN_IF_ERROR(ReadFileToString(path, &text));
  state.complete_bytes =
      text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  bool header = true;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(text).substr(0, state.complete_bytes),
                      '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      const std::vector<std::string> names = absl::StrSplit(line, ',');
      if (names.size() < 2 || names[0] != "stage" || names[1] != "step") {
        return absl::DataLossError(
            absl::StrCat(path, ": not a metrics.csv header: '", line, "'"));
      }
      state.columns.assign(names.begin() + 2, names.end());
      continue;
    }
    const std::vector<absl::string_view> cells =
        absl::StrSplit(line, absl::MaxSplits(',', 2));
    int64_t step = 0;
    if (cells.size() < 2 || !absl::SimpleAtoi(cells[1], &step)) {
      return absl::DataLossError(
          absl::StrCat(path, ": not a metrics.csv row: '", line, "'"));
    }
    auto [it, inserted] =
        state.last_step.try_emplace(std::string(cells[0]), step);
    if (!inserted) it->second = std::max(it->second, step);
  }
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CsvMetricsSink>> CsvMetricsSink::Open(
    const std::string& path, const std::vector<std::string>& loss_terms) {
  std::error_code ec;
  bool is_new = !std::filesystem::exists(path);
  CsvState state;
  if (!is_new) {
    ASSIGN_OR_RETURN(state, ReadCsvState(path));
    std::filesystem::resize_file(path, state.complete_bytes, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot truncate ", path, ": ", ec.message()));
    }
    is_new = state.complete_bytes == 0;
  }
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::vector<std::string> columns =
      is_new ? NewFileColumns(loss_terms) : std::move(state.columns);
  std::unique_ptr<CsvMetricsSink> sink(
      new CsvMetricsSink(path, f, columns, std::move(state.last_step)));
  if (is_new) {
    std::string header = "stage,step";
    for (const std::string& c : columns) absl::StrAppend(&header, ",", c);
    header += "\n";
    if (std::fputs(header.c_str(), f) < 0 || std::fflush(f) != 0) {
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
  }
  return sink;
}

CsvMetricsSink::~CsvMetricsSink() { std::fclose(file_); }

absl::Status CsvMetricsSink::Log(absl::string_view stage, int64_t step,
                                 const Metrics& m) {
  if (auto it = last_step_.find(stage);
      it != last_step_.end() && step <= it->second) {
    return absl::OkStatus();  // already in the file (a resumed run)
  }
  std::string row = absl::StrCat(stage, ",", step);
  for (const std::string& c : columns_) {
    row += ",";
    if (const auto v = m.Get(c)) row += CsvCell(StyleOf(c), *v);
  }
  row += "\n";
  if (std::fputs(row.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path_));
  }
  return absl::OkStatus();
}

absl::Status TensorBoardSink::Log(absl::string_view stage, int64_t step,
                                  const Metrics& metrics) {
  for (const auto& [name, value] : metrics.values()) {
    if (IsBookkeeping(name)) continue;
    RETURN_IF_ERROR(
        events_.AddScalar(absl::StrCat(stage, "/", name), step, value));
  }
  return absl::OkStatus();
}

absl::Status LossHistorySink::Log(absl::string_view stage, int64_t step,
                                  const Metrics& m) {
  const std::optional<double> loss = m.Get(kLoss);
  if (!loss.has_value()) return absl::OkStatus();
  LossHistory& h = histories_[std::string(stage)];
  if (h.rows.empty() && h.names.empty()) {
    for (const auto& [name, value] : m.values()) {
      if (IsLossTerm(name)) h.names.push_back(name);
    }
  }
  LossHistory::Row row{step, *loss, {}};
  row.terms.reserve(h.names.size());
  for (const std::string& name : h.names) row.terms.push_back(Or(m, name, 0));
  h.rows.push_back(std::move(row));
  return absl::OkStatus();
}

void LossHistorySink::Reset(const std::string& stage, LossHistory history) {
  histories_[stage] = std::move(history);
}

const LossHistory& LossHistorySink::history(const std::string& stage) const {
  static const LossHistory* const kEmpty = new LossHistory();
  const auto it = histories_.find(stage);
  return it == histories_.end() ? *kEmpty : it->second;
}

}  // namespace sniper
