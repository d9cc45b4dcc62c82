#include "ops/cuda/runtime.h"

#include "absl/strings/str_cat.h"

#ifndef SNIPER_NO_CUDA
#include "ops/cuda/runtime_kernels.h"
#endif

namespace sniper::cuda {

bool BuiltWithCuda() {
#ifdef SNIPER_NO_CUDA
  return false;
#else
  return true;
#endif
}

absl::StatusOr<int> DeviceCount() {
#ifdef SNIPER_NO_CUDA
  return absl::UnavailableError("built without the CUDA toolkit");
#else
  int count = 0;
  const int err = internal::DeviceCount(&count);
  if (err != 0) {
    return absl::UnavailableError(absl::StrCat("cudaGetDeviceCount failed: ",
                                               internal::ErrorString(err)));
  }
  if (count == 0) return absl::UnavailableError("no CUDA device visible");
  return count;
#endif
}

bool HasDevice() { return DeviceCount().ok(); }

std::string WhyNoDevice() {
  const absl::StatusOr<int> count = DeviceCount();
  return count.ok() ? std::string()
                    : absl::StrCat("no usable GPU: ", count.status().message());
}

absl::Status Saxpy(float a, absl::Span<const float> x, absl::Span<float> y) {
  if (x.size() != y.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Saxpy: x has ", x.size(), " elements but y has ", y.size()));
  }
#ifdef SNIPER_NO_CUDA
  return absl::UnavailableError("built without the CUDA toolkit");
#else
  const int err = internal::HostSaxpy(a, x.data(), y.data(),
                                      static_cast<int64_t>(x.size()));
  if (err != 0) {
    return absl::InternalError(
        absl::StrCat("Saxpy kernel: ", internal::ErrorString(err)));
  }
  return absl::OkStatus();
#endif
}

}  // namespace sniper::cuda
