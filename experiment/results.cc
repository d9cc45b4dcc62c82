#include "experiment/results.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "port/json_types.h"
#include "port/status_macros.h"
#include "simdjson.h"

namespace sniper::experiment {
namespace {

namespace fs = std::filesystem;
namespace dom = simdjson::dom;

// The parsed JSON object in `path`; the parser owns the document.
absl::StatusOr<dom::object> ReadObject(dom::parser& parser,
                                       const std::string& path) {
  dom::element doc;
  if (const auto error = parser.load(path).get(doc); error) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", simdjson::error_message(error)));
  }
  dom::object object;
  if (doc.get(object)) {
    return absl::DataLossError(absl::StrCat(path, ": expected an object, got ",
                                            JsonTypeName(doc.type())));
  }
  return object;
}

absl::StatusOr<double> Number(const dom::object& o, const char* key,
                              const std::string& path) {
  dom::element e;
  if (o.at_key(key).get(e)) {
    return absl::DataLossError(absl::StrCat(path, ": no \"", key, "\""));
  }
  if (!IsJsonNumber(e.type())) {
    return absl::DataLossError(absl::StrCat(path, ": \"", key,
                                            "\" should be a number, got ",
                                            JsonTypeName(e.type())));
  }
  double v = 0;
  if (e.is_double()) {
    v = e.get_double().value();
  } else if (e.is_int64()) {
    v = static_cast<double>(e.get_int64().value());
  } else {
    v = static_cast<double>(e.get_uint64().value());
  }
  return v;
}

// The array of 12 numbers at `key`; empty when absent and !required.
absl::StatusOr<std::vector<double>> Stats(const dom::object& o, const char* key,
                                          const std::string& path,
                                          bool required) {
  dom::element e;
  if (o.at_key(key).get(e)) {
    if (!required) return std::vector<double>();
    return absl::DataLossError(absl::StrCat(path, ": no \"", key, "\""));
  }
  dom::array a;
  if (e.get(a) || a.size() != 12) {
    return absl::DataLossError(
        absl::StrCat(path, ": \"", key, "\" should be 12 numbers"));
  }
  std::vector<double> out;
  for (dom::element x : a) {
    double v = 0;
    if (x.get(v)) {
      return absl::DataLossError(
          absl::StrCat(path, ": \"", key, "\" should be 12 numbers"));
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace

bool RunFinished(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir + "/summary/eval.json", ec) &&
         fs::is_regular_file(dir + "/eval_stats.json", ec);
}

absl::StatusOr<std::optional<RunResult>> ReadRunResult(const std::string& dir) {
  if (!RunFinished(dir)) return std::optional<RunResult>();
  RunResult r;
  dom::parser parser;
  {
    const std::string path = dir + "/eval_stats.json";
    ASSIGN_OR_RETURN(const dom::object o, ReadObject(parser, path));
    ASSIGN_OR_RETURN(r.stats, Stats(o, "stats", path, true));
    ASSIGN_OR_RETURN(r.mask_stats, Stats(o, "segm_stats", path, false));
  }
  {
    const std::string path = dir + "/summary/detector.json";
    ASSIGN_OR_RETURN(const dom::object o, ReadObject(parser, path));
    ASSIGN_OR_RETURN(r.pixels_per_image, Number(o, "pixels_per_image", path));
    ASSIGN_OR_RETURN(r.steps, Number(o, "steps", path));
    ASSIGN_OR_RETURN(r.images_per_s, Number(o, "images_per_s", path));
    ASSIGN_OR_RETURN(const double peak, Number(o, "peak_rss_bytes", path));
    r.peak_rss_mib = peak / (1024.0 * 1024.0);
    ASSIGN_OR_RETURN(r.detector_seconds, Number(o, "seconds", path));
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/summary", ec)) {
    if (e.path().extension() != ".json") continue;
    const std::string path = e.path().string();
    ASSIGN_OR_RETURN(const dom::object o, ReadObject(parser, path));
    ASSIGN_OR_RETURN(const double s, Number(o, "seconds", path));
    r.seconds += s;
  }
  return std::optional<RunResult>(std::move(r));
}

absl::StatusOr<std::optional<RunResult>> ReadCellResult(
    const std::string& dir, const std::string& kept_dir) {
  if (RunFinished(dir) || kept_dir.empty()) return ReadRunResult(dir);
  return ReadRunResult(kept_dir);
}

absl::Status KeepRunResult(const std::string& run_dir,
                           const std::string& kept_dir) {
  if (!RunFinished(run_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(run_dir,
                     ": not finished (no summary/eval.json and "
                     "eval_stats.json), nothing to keep"));
  }
  std::vector<std::string> files = {"eval_stats.json", "config.pbtxt",
                                    "metrics.csv"};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir + "/summary", ec)) {
    if (e.path().extension() == ".json") {
      files.push_back("summary/" + e.path().filename().string());
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat(run_dir, "/summary: ", ec.message()));
  }
  const std::string tmp = kept_dir + ".tmp";
  const std::string old = kept_dir + ".old";
  auto fail = [&](const std::string& what) {
    fs::remove_all(tmp, ec);
    return absl::InternalError(
        absl::StrCat("keeping ", run_dir, " in ", kept_dir, ": ", what));
  };
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp + "/summary", ec);
  if (ec) return fail(absl::StrCat("cannot create ", tmp, ": ", ec.message()));
  for (const std::string& f : files) {
    const std::string from = run_dir + "/" + f;
    if (!fs::exists(from, ec)) continue;  // config/metrics of older runs
    fs::copy_file(from, tmp + "/" + f, fs::copy_options::overwrite_existing,
                  ec);
    if (ec) return fail(absl::StrCat(from, ": ", ec.message()));
  }
  fs::remove_all(old, ec);
  if (fs::exists(kept_dir, ec)) {
    fs::rename(kept_dir, old, ec);
    if (ec)
      return fail(
          absl::StrCat("cannot move the old copy aside: ", ec.message()));
  }
  fs::rename(tmp, kept_dir, ec);
  if (ec) return fail(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  fs::remove_all(old, ec);
  return absl::OkStatus();
}

}  // namespace sniper::experiment
