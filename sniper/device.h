// File: sniper/device.h
//
// Where a run computes and in which precision, from PipelineConfig's
// `device` and `precision` (shared by train, eval and detect).
//
//   ASSIGN_OR_RETURN(torch::Device d, ResolveDevice(config, env.local_rank));
//   ASSIGN_OR_RETURN(std::optional<c10::ScalarType> autocast,
//                    AutocastType(config.precision(), d));
#ifndef SNIPER_SNIPER_DEVICE_H_
#define SNIPER_SNIPER_DEVICE_H_

#include <torch/torch.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "sniper/pipeline.pb.h"

namespace sniper {

// config.device(): "cpu", "cuda", "cuda:N" or "" (CUDA when present, else
// the CPU). "cuda" or "" picks cuda:local_rank (torchrun's convention);
// with more processes on this machine than GPUs they share them round
// robin (Gloo only). Errors name PipelineConfig.device.
absl::StatusOr<torch::Device> ResolveDevice(const PipelineConfig& config,
                                            int local_rank = 0);

// The same for a bare device string (a CLI's --device).
absl::StatusOr<torch::Device> ResolveDevice(const std::string& device);

// The autocast type of `precision` on `device` (none for FP32); FP16 off
// CUDA is an error naming PipelineConfig.precision.
absl::StatusOr<std::optional<c10::ScalarType>> AutocastType(
    PipelineConfig::Precision precision, torch::Device device);

}  // namespace sniper

#endif  // SNIPER_SNIPER_DEVICE_H_
