// File: benchmarks/bench_device.h
//
// Where the end-to-end benchmarks compute (--device, --precision, as the
// trainer's PipelineConfig fields), the device's memory, and their main():
//
//   int main(int argc, char** argv) {
//     return sniper::bench::Main(argc, argv, RegisterCases);
//   }
//
// Main parses Google Benchmark's flags, then ours (absl), resolves the
// device, calls `register_cases` (cases may read the flags) and runs them;
// a bad flag or an escaped exception is one line on stderr and exit 1.
#ifndef SNIPER_BENCHMARKS_BENCH_DEVICE_H_
#define SNIPER_BENCHMARKS_BENCH_DEVICE_H_

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "sniper/pipeline.pb.h"

ABSL_DECLARE_FLAG(std::string, device);
ABSL_DECLARE_FLAG(std::string, precision);
ABSL_DECLARE_FLAG(std::string, data_dir);

namespace sniper::bench {

struct BenchDevice {
  torch::Device device{torch::kCPU};
  PipelineConfig::Precision precision = PipelineConfig::FP32;
  std::optional<c10::ScalarType> autocast;  // none: FP32
  std::string name;                         // e.g. "cuda:0 BF16"
};

// The device and precision of --device/--precision (resolved once by Main).
const BenchDevice& Device();

// Resolves "cpu"/"cuda"/"cuda:N" and "FP32"/"BF16"/"FP16"; errors name the
// flag (FP16 needs CUDA; CUDA needs a device).
absl::StatusOr<BenchDevice> ResolveBenchDevice(const std::string& device,
                                               const std::string& precision);

// The COCO-format data of the paper-setting cases: --data_dir (holding
// instances.json and images/), else ../shared/data/coco_mini; empty when
// neither exists.
struct CocoData {
  std::string annotations;
  std::string images;
};
std::optional<CocoData> PaperData();

// Waits for the device's queued work (a no-op on the CPU): a step's time
// must include its kernels.
void Synchronize(const BenchDevice& d);

// The caching allocator's peak since the last reset, MiB: tensors
// allocated, and memory reserved from the driver (what nvidia-smi shows
// of this process, less the CUDA context). -1 on the CPU or in a build
// without CUDA.
struct DeviceMemory {
  double peak_allocated_mib = -1;
  double peak_reserved_mib = -1;
};
void ResetPeakMemory(const BenchDevice& d);
DeviceMemory PeakMemory(const BenchDevice& d);

// Returns the allocator's cached blocks to the driver (after an
// out-of-memory error).
void ReleaseCachedMemory(const BenchDevice& d);

// Whether an error's message is the allocator's out of memory.
bool IsOutOfMemory(absl::string_view message);

// Adds peak_gpu_allocated_mib and peak_gpu_reserved_mib (CUDA only).
void AddMemoryCounters(const BenchDevice& d, benchmark::State& state);

int Main(int argc, char** argv, const std::function<void()>& register_cases);

}  // namespace sniper::bench

#endif  // SNIPER_BENCHMARKS_BENCH_DEVICE_H_
