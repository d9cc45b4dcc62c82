#include "experiment/matrix.h"

#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/field_path.h"
#include "port/proto_io.h"
#include "port/status_macros.h"

namespace sniper::experiment {
namespace {

namespace fs = std::filesystem;

constexpr char kRoot[] = "ExperimentMatrix";

bool IsIdentifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// `path` against `base` unless absolute, normalized.
std::string Against(const std::string& base, const std::string& path) {
  const fs::path p(path);
  return (p.is_absolute() ? p : fs::path(base) / p).lexically_normal();
}

// Each line of `sets` (the field `set` of the message at `path`) is
// "path=value".
absl::Status CheckSets(
    const google::protobuf::RepeatedPtrField<std::string>& sets,
    const std::string& path) {
  for (int i = 0; i < sets.size(); ++i) {
    const size_t eq = sets[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidField(
          path, absl::StrCat("set[", i, "]"),
          absl::StrCat("must be path=value, got \"", sets[i], "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSeeds(const google::protobuf::RepeatedField<uint64_t>& seeds,
                        const std::string& path) {
  std::set<uint64_t> seen;
  for (int i = 0; i < seeds.size(); ++i) {
    if (!seen.insert(seeds[i]).second) {
      return InvalidField(path, absl::StrCat("seeds[", i, "]"),
                          absl::StrCat("seed ", seeds[i], " is listed twice"));
    }
  }
  return absl::OkStatus();
}

// What every variant's cells share.
struct Common {
  const ExperimentMatrix& config;
  std::string base_dir;  // config paths are relative to it
  std::vector<std::string> seed_fields;
};

// Validates variant `v` and appends its cells.
absl::Status AddVariant(const Common& common, int v, Matrix& m) {
  const Variant& variant = common.config.variants(v);
  const std::string path = absl::StrCat(kRoot, ".variants[", v, "]");
  if (!IsIdentifier(variant.name())) {
    return InvalidField(
        path, "name",
        absl::StrCat("must be [a-z0-9_]+, got \"", variant.name(), "\""));
  }
  for (const VariantInfo& other : m.variants) {
    if (other.name == variant.name()) {
      return InvalidField(
          path, "name",
          absl::StrCat("\"", variant.name(), "\" names two variants"));
    }
  }
  RETURN_IF_ERROR(CheckSets(variant.set(), path));
  RETURN_IF_ERROR(CheckSeeds(variant.seeds(), path));
  std::string config_path;
  if (variant.has_config()) {
    config_path = Against(common.base_dir, variant.config());
    if (!fs::is_regular_file(config_path)) {
      return InvalidField(path, "config",
                          absl::StrCat("no such file: ", config_path));
    }
  }
  const auto& seeds =
      variant.seeds_size() > 0 ? variant.seeds() : common.config.seeds();
  if (seeds.empty()) {
    return InvalidField(path, "seeds",
                        "no seeds: list them in the matrix or the variant");
  }
  m.variants.push_back({variant.name(), variant.has_description()
                                            ? variant.description()
                                            : variant.name()});
  for (int k = 0; k < seeds.size(); ++k) {
    const uint64_t seed = seeds[k];
    Cell c;
    c.variant = v;
    c.seed = seed;
    c.seed_index = k;
    c.dir = absl::StrCat(m.work_dir, "/", variant.name(), "/seed_", seed);
    if (!m.results_dir.empty()) {
      c.kept_dir =
          absl::StrCat(m.results_dir, "/", variant.name(), "/seed_", seed);
    }
    if (!config_path.empty()) c.args.push_back("--config=" + config_path);
    for (const std::string& s : common.config.set()) {
      c.args.push_back("--set=" + s);
    }
    for (const std::string& s : variant.set()) c.args.push_back("--set=" + s);
    for (const std::string& f : common.seed_fields) {
      c.args.push_back(absl::StrCat("--set=", f, "=", seed));
    }
    c.args.push_back("--work_dir=" + c.dir);
    m.cells.push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::StatusOr<Matrix> Build(const ExperimentMatrix& config,
                             const std::string& base_dir,
                             const std::string& cwd,
                             const std::string& work_dir) {
  Matrix m;
  m.name = config.name();
  m.description = config.description();
  if (!IsIdentifier(m.name)) {
    return InvalidField(
        kRoot, "name",
        absl::StrCat("must be [a-z0-9_]+, got \"", m.name, "\""));
  }
  RETURN_IF_ERROR(CheckSets(config.set(), kRoot));
  RETURN_IF_ERROR(CheckSeeds(config.seeds(), kRoot));
  Common common{config, base_dir, {}};
  common.seed_fields.assign(config.seed_fields().begin(),
                            config.seed_fields().end());
  if (common.seed_fields.empty()) {
    common.seed_fields = {"seed", "sampler.seed", "loader.seed"};
  }
  for (size_t i = 0; i < common.seed_fields.size(); ++i) {
    const std::string& f = common.seed_fields[i];
    if (f.empty() || absl::StrContains(f, '=')) {
      return InvalidField(
          kRoot, absl::StrCat("seed_fields[", i, "]"),
          absl::StrCat("must be a field path, got \"", f, "\""));
    }
  }
  if (config.variants_size() == 0) {
    return InvalidField(kRoot, "variants", "must list at least one variant");
  }
  m.work_dir = !work_dir.empty()       ? Against(cwd, work_dir)
               : config.has_work_dir() ? Against(cwd, config.work_dir())
                                       : Against(cwd, "experiments/" + m.name);
  if (config.has_results_dir()) {
    if (config.results_dir().empty()) {
      return InvalidField(kRoot, "results_dir",
                          "must be a directory, or left unset");
    }
    m.results_dir = Against(common.base_dir, config.results_dir());
    while (m.results_dir.size() > 1 && m.results_dir.back() == '/') {
      m.results_dir.pop_back();
    }
  }
  for (int v = 0; v < config.variants_size(); ++v) {
    RETURN_IF_ERROR(AddVariant(common, v, m));
  }
  return m;
}

}  // namespace

absl::StatusOr<Matrix> BuildMatrix(const ExperimentMatrix& config,
                                   const std::string& source,
                                   const std::string& base_dir,
                                   const std::string& cwd,
                                   const std::string& work_dir) {
  absl::StatusOr<Matrix> m = Build(config, base_dir, cwd, work_dir);
  if (!m.ok()) {
    return absl::Status(m.status().code(),
                        absl::StrCat(source, ": ", m.status().message()));
  }
  return m;
}

absl::StatusOr<Matrix> LoadMatrix(const std::string& path,
                                  const std::string& cwd,
                                  const std::string& work_dir) {
  ExperimentMatrix config;
  const std::string file = Against(cwd, path);
  RETURN_IF_ERROR(ReadTextProtoFile(file, &config));
  return BuildMatrix(config, file, fs::path(file).parent_path().string(), cwd,
                     work_dir);
}

}  // namespace sniper::experiment
