// File: ops/testing/torchvision_ops.h
//
// torchvision's C++ kernels (nms, roi_align and its backward) loaded at run
// time from Debian's python3-torchvision (_C.*.so needs only LibTorch, not
// Python), called through the ATen dispatcher. An independent oracle for
// tests and the peer in benchmarks; absent (nullptr, with a reason) when
// torchvision is not installed. Test-only.
#ifndef SNIPER_OPS_TESTING_TORCHVISION_OPS_H_
#define SNIPER_OPS_TESTING_TORCHVISION_OPS_H_

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <string>

namespace sniper::testing {

struct TorchvisionOps {
  c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                      double)>
      nms;
  c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                      double, int64_t, int64_t, int64_t, bool)>
      roi_align;
  c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                      double, int64_t, int64_t, int64_t,
                                      int64_t, int64_t, int64_t, int64_t, bool)>
      roi_align_backward;
};

// The loaded ops, or nullptr with *why set.
inline const TorchvisionOps* LoadTorchvision(std::string* why) {
  static std::string reason;
  static const TorchvisionOps* ops = []() -> const TorchvisionOps* {
    std::string path;
    if (const char* env = std::getenv("SNIPER_TORCHVISION_C")) path = env;
    if (path.empty()) {
      glob_t g;
      if (::glob("/usr/lib/python3/dist-packages/torchvision/_C*.so", 0,
                 nullptr, &g) == 0 &&
          g.gl_pathc > 0) {
        path = g.gl_pathv[0];
      }
      globfree(&g);
    }
    if (path.empty()) {
      reason =
          "torchvision not found (apt-get install python3-torchvision, or "
          "set SNIPER_TORCHVISION_C to its _C.so)";
      return nullptr;
    }
    if (::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      reason = std::string("cannot load ") + path + ": " + ::dlerror();
      return nullptr;
    }
    auto& d = c10::Dispatcher::singleton();
    auto* o = new TorchvisionOps{
        d.findSchemaOrThrow("torchvision::nms", "")
            .typed<at::Tensor(const at::Tensor&, const at::Tensor&, double)>(),
        d.findSchemaOrThrow("torchvision::roi_align", "")
            .typed<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                              int64_t, int64_t, int64_t, bool)>(),
        d.findSchemaOrThrow("torchvision::_roi_align_backward", "")
            .typed<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                              int64_t, int64_t, int64_t, int64_t, int64_t,
                              int64_t, int64_t, bool)>()};
    return o;
  }();
  if (why != nullptr) *why = reason;
  return ops;
}

// For benchmarks: the ops, or nullptr after state.SkipWithError(reason).
// (A template so this header needs no Google Benchmark dependency.)
template <typename BenchmarkState>
const TorchvisionOps* LoadTorchvisionOrSkip(BenchmarkState& state) {
  std::string why;
  const TorchvisionOps* ops = LoadTorchvision(&why);
  if (ops == nullptr) state.SkipWithError(why.c_str());
  return ops;
}

}  // namespace sniper::testing

#endif  // SNIPER_OPS_TESTING_TORCHVISION_OPS_H_
