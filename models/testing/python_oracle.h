// File: models/testing/python_oracle.h
//
// What the tests that check our models against PyTorch's own share: the
// python3 to run (SNIPER_PYTHON, else Debian's /usr/bin/python3), whether
// it imports a module, running a script written into a directory, and
// reading back a dict of tensors it saved (torch.save of {name: tensor}).
// Test-only.
#ifndef SNIPER_MODELS_TESTING_PYTHON_ORACLE_H_
#define SNIPER_MODELS_TESTING_PYTHON_ORACLE_H_

#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace sniper::models::testing {

inline std::string Python() {
  const char* py = std::getenv("SNIPER_PYTHON");
  return py ? py : "/usr/bin/python3";
}

// Whether Python() can import `module` (torch, torchvision).
inline bool PythonHas(const std::string& module) {
  return std::system(
             (Python() + " -c 'import " + module + "' 2>/dev/null").c_str()) ==
         0;
}

// Why a test needing `module` must skip ("... cannot import torchvision
// (apt-get install python3-torchvision)"), or empty when Python() has it:
//   if (auto why = PythonLacks("torchvision"); !why.empty()) GTEST_SKIP() <<
//   why;
inline std::string PythonLacks(const std::string& module) {
  if (PythonHas(module)) return "";
  return Python() + " cannot import " + module + " (apt-get install python3-" +
         module + ")";
}

// Writes `script` to <dir>/<name> and runs it with `dir` as its argument;
// whether it exited 0.
inline bool RunPythonScript(const std::string& dir, const std::string& name,
                            const char* script) {
  {
    std::ofstream f(dir + "/" + name);
    f << script;
  }
  return std::system((Python() + " " + dir + "/" + name + " " + dir).c_str()) ==
         0;
}

// The {name: tensor} dict torch.save wrote to `path`.
inline std::map<std::string, torch::Tensor> LoadTensorDict(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : torch::pickle_load(bytes).toGenericDict()) {
    out[kv.key().toStringRef()] = kv.value().toTensor();
  }
  return out;
}

}  // namespace sniper::models::testing

#endif  // SNIPER_MODELS_TESTING_PYTHON_ORACLE_H_
