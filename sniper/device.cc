#include "sniper/device.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sniper {

absl::StatusOr<torch::Device> ResolveDevice(const PipelineConfig& config,
                                            int local_rank) {
  const std::string& d = config.device();
  if (d == "cpu" || (d.empty() && !torch::cuda::is_available())) {
    return torch::Device(torch::kCPU);
  }
  if (!torch::cuda::is_available()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PipelineConfig.device: '", d,
        "' but no CUDA device is available (or this LibTorch has no CUDA); "
        "use device: \"cpu\""));
  }
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  int64_t index = local_rank % std::max<int64_t>(1, count);
  if (d.size() > 5) index = std::stoll(d.substr(5));  // validated: cuda:N
  if (index >= count) {
    return absl::FailedPreconditionError(
        absl::StrCat("PipelineConfig.device: '", d, "' but only ",
                     torch::cuda::device_count(), " CUDA devices are present"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

absl::StatusOr<torch::Device> ResolveDevice(const std::string& device) {
  PipelineConfig c;
  c.set_device(device);
  return ResolveDevice(c);
}

absl::StatusOr<std::optional<c10::ScalarType>> AutocastType(
    PipelineConfig::Precision precision, torch::Device device) {
  switch (precision) {
    case PipelineConfig::BF16:
      return std::optional<c10::ScalarType>(c10::ScalarType::BFloat16);
    case PipelineConfig::FP16:
      if (device.type() != torch::kCUDA) {
        return absl::InvalidArgumentError(
            "PipelineConfig.precision: FP16 needs a CUDA device (on the CPU "
            "use BF16 or FP32)");
      }
      return std::optional<c10::ScalarType>(c10::ScalarType::Half);
    default:
      return std::optional<c10::ScalarType>();
  }
}

}  // namespace sniper
