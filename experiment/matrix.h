// File: experiment/matrix.h
//
// An experiment matrix (experiment/experiment.proto) validated into cells:
// one training run per (variant, seed), each with its own work directory
// and the exact //sniper:train arguments that make it. Errors name the
// file and field ("m.pbtxt: ExperimentMatrix.variants[2].name: ...").
//
//   ASSIGN_OR_RETURN(Matrix m, LoadMatrix("configs/experiments/x.pbtxt"));
//   for (const Cell& c : m.cells) Run(train_binary, c.args);
#ifndef SNIPER_EXPERIMENT_MATRIX_H_
#define SNIPER_EXPERIMENT_MATRIX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiment/experiment.pb.h"

namespace sniper::experiment {

struct VariantInfo {
  std::string name;
  std::string description;  // the name when the file gives none
};

// One training run.
struct Cell {
  int variant = 0;  // index into Matrix::variants
  uint64_t seed = 0;
  int seed_index = 0;  // the seed's position in its variant's list
  std::string dir;     // its work directory, absolute
  // Where its result files are kept (<results_dir>/<variant>/seed_<n>,
  // absolute); empty when the matrix keeps none.
  std::string kept_dir;
  // //sniper:train's arguments after the binary: --config (absolute) when
  // the variant has one, the matrix's and the variant's --set lines, the
  // seed's, then --work_dir.
  std::vector<std::string> args;
};

struct Matrix {
  std::string name;
  std::string description;
  std::string work_dir;  // absolute
  // Where finished cells' result files are kept (absolute); empty: none.
  std::string results_dir;
  std::vector<VariantInfo> variants;
  // Variant by variant, seeds in the order given.
  std::vector<Cell> cells;
};

// Validates `config` (read from `source`; relative config paths resolve
// against `base_dir`) into cells under `work_dir` (empty: the config's
// work_dir, else experiments/<name>; relative paths against `cwd`).
absl::StatusOr<Matrix> BuildMatrix(const ExperimentMatrix& config,
                                   const std::string& source,
                                   const std::string& base_dir,
                                   const std::string& cwd,
                                   const std::string& work_dir = "");

// Reads and builds the matrix file at `path`.
absl::StatusOr<Matrix> LoadMatrix(const std::string& path,
                                  const std::string& cwd,
                                  const std::string& work_dir = "");

}  // namespace sniper::experiment

#endif  // SNIPER_EXPERIMENT_MATRIX_H_
