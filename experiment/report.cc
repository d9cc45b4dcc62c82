#include "experiment/report.h"

#include <cmath>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/json_writer.h"
#include "port/proto_io.h"
#include "port/status_macros.h"
#include "viz/draw.h"
#include "viz/plot.h"
#include "viz/scatter.h"

namespace sniper::experiment {
namespace {

// One column of the tables: a heading and how to read it from a result.
struct Column {
  const char* heading;
  std::function<double(const RunResult&)> value;
  int decimals;
  bool thousands;
};

std::vector<Column> Columns(bool masks) {
  std::vector<Column> c = {
      {"AP", [](const RunResult& r) { return r.stats[kAp]; }, 3, false},
      {"AP50", [](const RunResult& r) { return r.stats[kAp50]; }, 3, false},
      {"APs", [](const RunResult& r) { return r.stats[kApSmall]; }, 3, false},
      {"APm", [](const RunResult& r) { return r.stats[kApMedium]; }, 3, false},
      {"APl", [](const RunResult& r) { return r.stats[kApLarge]; }, 3, false},
  };
  if (masks) {
    c.push_back({"mask AP",
                 [](const RunResult& r) {
                   return r.mask_stats.empty() ? NAN : r.mask_stats[kAp];
                 },
                 3, false});
  }
  c.push_back(
      {"detector steps", [](const RunResult& r) { return r.steps; }, 0, true});
  c.push_back({"detector pixels / image",
               [](const RunResult& r) { return r.pixels_per_image; }, 0, true});
  c.push_back({"images/s", [](const RunResult& r) { return r.images_per_s; }, 2,
               false});
  c.push_back({"peak memory (MiB)",
               [](const RunResult& r) { return r.peak_rss_mib; }, 0, true});
  c.push_back({"minutes per run",
               [](const RunResult& r) { return r.seconds / 60; }, 1, false});
  return c;
}

bool AnyMasks(const Results& results) {
  for (const auto& r : results) {
    if (r.has_value() && !r->mask_stats.empty()) return true;
  }
  return false;
}

std::string Grouped(double v, int decimals) {
  std::string s = absl::StrFormat("%.*f", decimals, std::fabs(v));
  const size_t dot = s.find('.');
  for (int i = static_cast<int>(dot == std::string::npos ? s.size() : dot) - 3;
       i > 0; i -= 3) {
    s.insert(static_cast<size_t>(i), ",");
  }
  return v < 0 ? "-" + s : s;
}

std::string Row(const std::vector<std::string>& cells) {
  std::string row = "|";
  for (const std::string& c : cells) absl::StrAppend(&row, " ", c, " |");
  return row + "\n";
}

std::string Rule(size_t numeric, size_t text) {
  std::string row = "|";
  for (size_t i = 0; i < text; ++i) row += " --- |";
  for (size_t i = 0; i < numeric; ++i) row += " ---: |";
  return row + "\n";
}

}  // namespace

MeanStd Summarize(const std::vector<double>& values) {
  MeanStd s;
  for (double v : values) {
    if (std::isfinite(v)) {
      s.mean += v;
      ++s.n;
    }
  }
  if (s.n == 0) return s;
  s.mean /= s.n;
  if (s.n < 2) return s;
  double ss = 0;
  for (double v : values) {
    if (std::isfinite(v)) ss += (v - s.mean) * (v - s.mean);
  }
  s.std = std::sqrt(ss / (s.n - 1));
  return s;
}

std::string FormatMeanStd(const MeanStd& s, int decimals, bool thousands) {
  if (s.n == 0) return "-";
  auto f = [&](double v) {
    return thousands ? Grouped(v, decimals)
                     : absl::StrFormat("%.*f", decimals, v);
  };
  return s.n == 1 ? f(s.mean) : absl::StrCat(f(s.mean), " ± ", f(s.std));
}

absl::StatusOr<Results> ReadResults(const Matrix& matrix) {
  Results out;
  for (const Cell& c : matrix.cells) {
    ASSIGN_OR_RETURN(std::optional<RunResult> r,
                     ReadCellResult(c.dir, c.kept_dir));
    out.push_back(std::move(r));
  }
  return out;
}

std::string ResultsMarkdown(const Matrix& m, const Results& results) {
  const std::vector<Column> columns = Columns(AnyMasks(results));
  std::string md;
  if (!m.description.empty()) absl::StrAppend(&md, m.description, "\n\n");
  std::vector<std::string> head = {"variant", "runs"};
  for (const Column& c : columns) head.push_back(c.heading);
  absl::StrAppend(&md, Row(head), Rule(columns.size() + 1, 1));
  for (size_t v = 0; v < m.variants.size(); ++v) {
    std::vector<const RunResult*> runs;
    int cells = 0;
    for (size_t i = 0; i < m.cells.size(); ++i) {
      if (m.cells[i].variant != static_cast<int>(v)) continue;
      ++cells;
      if (results[i].has_value()) runs.push_back(&*results[i]);
    }
    std::vector<std::string> row = {
        m.variants[v].description,
        runs.size() == static_cast<size_t>(cells)
            ? absl::StrCat(cells)
            : absl::StrCat(runs.size(), " of ", cells)};
    for (const Column& c : columns) {
      std::vector<double> values;
      for (const RunResult* r : runs) values.push_back(c.value(*r));
      row.push_back(FormatMeanStd(Summarize(values), c.decimals, c.thousands));
    }
    absl::StrAppend(&md, Row(row));
  }
  absl::StrAppend(&md, "\nEach run:\n\n");
  head = {"variant", "seed"};
  for (const Column& c : columns) head.push_back(c.heading);
  absl::StrAppend(&md, Row(head), Rule(columns.size(), 2));
  for (size_t i = 0; i < m.cells.size(); ++i) {
    const Cell& cell = m.cells[i];
    std::vector<std::string> row = {m.variants[cell.variant].name,
                                    absl::StrCat(cell.seed)};
    for (const Column& c : columns) {
      row.push_back(results[i].has_value()
                        ? FormatMeanStd(Summarize({c.value(*results[i])}),
                                        c.decimals, c.thousands)
                        : "(not run)");
    }
    absl::StrAppend(&md, Row(row));
  }
  return md;
}

std::string ResultsJson(const Matrix& m, const Results& results) {
  JsonWriter w(/*break_depth=*/2);
  w.BeginObject();
  w.Key("name").String(m.name);
  w.Key("runs").BeginArray();
  for (size_t i = 0; i < m.cells.size(); ++i) {
    const Cell& c = m.cells[i];
    w.BeginObject();
    w.Key("variant").String(m.variants[c.variant].name);
    w.Key("seed").Int(static_cast<int64_t>(c.seed));
    w.Key("work_dir").String(c.dir);
    if (!c.kept_dir.empty()) w.Key("kept_dir").String(c.kept_dir);
    w.Key("finished").Bool(results[i].has_value());
    if (results[i].has_value()) {
      const RunResult& r = *results[i];
      w.Key("stats").BeginArray();
      for (double s : r.stats) w.Double(s);
      w.EndArray();
      if (!r.mask_stats.empty()) {
        w.Key("mask_stats").BeginArray();
        for (double s : r.mask_stats) w.Double(s);
        w.EndArray();
      }
      w.Key("steps").Double(r.steps);
      w.Key("pixels_per_image").Double(r.pixels_per_image);
      w.Key("images_per_s").Double(r.images_per_s);
      w.Key("peak_rss_mib").Double(r.peak_rss_mib);
      w.Key("detector_seconds").Double(r.detector_seconds);
      w.Key("seconds").Double(r.seconds);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Finish();
}

data::RgbImage ResultsPicture(const Matrix& m, const Results& results) {
  struct Panel {
    const char* title;
    const char* x_label;
    bool log_x;
    std::function<double(const RunResult&)> x;
    int stat;
  };
  const Panel panels[] = {
      {"AP vs network pixels", "detector pixels / image", true,
       [](const RunResult& r) { return r.pixels_per_image; }, kAp},
      {"AP vs speed", "detector images / s", false,
       [](const RunResult& r) { return r.images_per_s; }, kAp},
      {"AP small vs network pixels", "detector pixels / image", true,
       [](const RunResult& r) { return r.pixels_per_image; }, kApSmall},
      {"AP small vs speed", "detector images / s", false,
       [](const RunResult& r) { return r.images_per_s; }, kApSmall},
  };
  std::vector<data::RgbImage> images;
  for (const Panel& p : panels) {
    std::vector<viz::ScatterSeries> series;
    for (size_t v = 0; v < m.variants.size(); ++v) {
      viz::ScatterSeries s{m.variants[v].name,
                           viz::PaletteColor(v),
                           viz::MarkerAt(static_cast<int>(v)),
                           {}};
      for (size_t i = 0; i < m.cells.size(); ++i) {
        if (m.cells[i].variant == static_cast<int>(v) && results[i]) {
          s.points.push_back({p.x(*results[i]), results[i]->stats[p.stat]});
        }
      }
      series.push_back(std::move(s));
    }
    images.push_back(viz::PlotScatter(p.title, p.x_label,
                                      p.stat == kAp ? "AP" : "AP small", series,
                                      640, 400, p.log_x));
  }
  return viz::StackVertically(
      {viz::StackHorizontally({images[0], images[1]}, 0, {255, 255, 255}),
       viz::StackHorizontally({images[2], images[3]}, 0, {255, 255, 255})});
}

absl::Status WriteReport(const Matrix& m, const Results& results) {
  const std::string md = ResultsMarkdown(m, results);
  const data::RgbImage picture = ResultsPicture(m, results);
  RETURN_IF_ERROR(WriteFileAtomically(m.work_dir + "/results.md", md));
  RETURN_IF_ERROR(WriteFileAtomically(m.work_dir + "/results.json",
                                      ResultsJson(m, results)));
  RETURN_IF_ERROR(data::WritePngFile(m.work_dir + "/results.png", picture));
  if (m.results_dir.empty()) return absl::OkStatus();
  // Beside the kept runs: the table and picture a document links to (the
  // JSON names this machine's work directories, so it stays here).
  std::error_code ec;
  std::filesystem::create_directories(m.results_dir, ec);
  RETURN_IF_ERROR(WriteFileAtomically(m.results_dir + "/results.md", md));
  return data::WritePngFile(m.results_dir + "/results.png", picture);
}

}  // namespace sniper::experiment
