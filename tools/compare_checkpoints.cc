// bazel run //tools:compare_checkpoints -- A.pt B.pt [--tolerance=1e-5]
//
// Compares the model weights (parameters and buffers) of two trainer
// checkpoints: prints the largest absolute difference and where it is,
// and exits 0 when every tensor matches within --tolerance (relative to
// max(1, |a|)), 1 otherwise. E.g. to check that a data-parallel run equals
// a one-process run on the same global batch.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "port/main_guard.h"
#include "port/paths.h"
#include "sniper/checkpoint.h"

ABSL_FLAG(double, tolerance, 1e-5,
          "largest allowed |a - b| / max(1, |a|) per element");

int Main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 3) {
    std::fprintf(stderr,
                 "usage: compare_checkpoints A.pt B.pt [--tolerance=X]\n");
    return 2;
  }
  const auto read = [](const char* path) {
    absl::StatusOr<std::map<std::string, torch::Tensor>> w =
        sniper::ReadCheckpointWeights(sniper::ResolveUserPath(path));
    if (!w.ok()) {
      std::fprintf(stderr, "error: %s\n",
                   std::string(w.status().message()).c_str());
      std::exit(2);
    }
    return *std::move(w);
  };
  try {
    const auto a = read(args[1]);
    const auto b = read(args[2]);
    if (a.size() != b.size()) {
      std::printf("different tensors: %zu vs %zu\n", a.size(), b.size());
      return 1;
    }
    double worst = 0;
    std::string where;
    for (const auto& [name, ta] : a) {
      auto it = b.find(name);
      if (it == b.end() || !ta.sizes().equals(it->second.sizes())) {
        std::printf("%s: missing or a different shape in %s\n", name.c_str(),
                    args[2]);
        return 1;
      }
      const torch::Tensor x = ta.to(torch::kFloat64);
      const torch::Tensor y = it->second.to(torch::kFloat64);
      if (x.numel() == 0) continue;
      const double d =
          ((x - y).abs() / x.abs().clamp_min(1)).max().item<double>();
      if (d > worst) {
        worst = d;
        where = name;
      }
    }
    std::printf("%zu tensors; largest relative difference %.3g%s%s\n", a.size(),
                worst, where.empty() ? "" : " in ", where.c_str());
    return worst <= absl::GetFlag(FLAGS_tolerance) ? 0 : 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
    return 2;
  }
}

int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main); }
