#include "benchmarks/bench_device.h"

#include <cstdio>
#include <exception>
#include <fstream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "data/testing/shared_data.h"
#include "glog/logging.h"
#include "sniper/device.h"

#ifdef SNIPER_TORCH_HAS_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#endif

ABSL_FLAG(std::string, device, "cpu",
          "cpu, cuda or cuda:N: where the cases compute");
ABSL_FLAG(std::string, precision, "FP32",
          "FP32, BF16 (autocast) or FP16 (autocast + loss scaling, CUDA "
          "only), as PipelineConfig.precision");
ABSL_FLAG(std::string, data_dir, "",
          "COCO-format data of the paper-setting cases: a directory with "
          "instances.json and images/ (default: ../shared/data/coco_mini)");

namespace sniper::bench {
namespace {

BenchDevice& MutableDevice() {
  static BenchDevice* d = new BenchDevice;
  return *d;
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

const BenchDevice& Device() { return MutableDevice(); }

absl::StatusOr<BenchDevice> ResolveBenchDevice(const std::string& device,
                                               const std::string& precision) {
  BenchDevice d;
  absl::StatusOr<torch::Device> resolved = ResolveDevice(device);
  if (!resolved.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--device=", device, ": ", resolved.status().message()));
  }
  d.device = *resolved;
  if (!PipelineConfig::Precision_Parse(precision, &d.precision) ||
      d.precision == PipelineConfig::PRECISION_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--precision=", precision, ": must be FP32, BF16 or FP16"));
  }
  absl::StatusOr<std::optional<c10::ScalarType>> autocast =
      AutocastType(d.precision, d.device);
  if (!autocast.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--precision=", precision, ": ", autocast.status().message()));
  }
  d.autocast = *autocast;
  d.name = absl::StrCat(d.device.str(), " ", precision);
  return d;
}

std::optional<CocoData> PaperData() {
  std::string dir = absl::GetFlag(FLAGS_data_dir);
  if (dir.empty()) {
    dir = testing::SharedDataPath("coco_mini");
    if (dir.empty()) return std::nullopt;
  }
  CocoData data{dir + "/instances.json", dir + "/images"};
  if (!Exists(data.annotations)) return std::nullopt;
  return data;
}

void Synchronize(const BenchDevice& d) {
#ifdef SNIPER_TORCH_HAS_CUDA
  if (d.device.is_cuda()) torch::cuda::synchronize(d.device.index());
#else
  (void)d;
#endif
}

void ResetPeakMemory(const BenchDevice& d) {
#ifdef SNIPER_TORCH_HAS_CUDA
  if (d.device.is_cuda()) {
    Synchronize(d);
    c10::cuda::CUDACachingAllocator::resetPeakStats(d.device.index());
  }
#else
  (void)d;
#endif
}

DeviceMemory PeakMemory(const BenchDevice& d) {
  DeviceMemory m;
#ifdef SNIPER_TORCH_HAS_CUDA
  if (d.device.is_cuda()) {
    Synchronize(d);
    // Index 0 of each StatArray: the aggregate over the small and large
    // pools (StatType::AGGREGATE, whose namespace moved in 2.x).
    const auto stats =
        c10::cuda::CUDACachingAllocator::getDeviceStats(d.device.index());
    m.peak_allocated_mib = stats.allocated_bytes[0].peak / 1048576.0;
    m.peak_reserved_mib = stats.reserved_bytes[0].peak / 1048576.0;
  }
#else
  (void)d;
#endif
  return m;
}

void ReleaseCachedMemory(const BenchDevice& d) {
#ifdef SNIPER_TORCH_HAS_CUDA
  if (d.device.is_cuda()) {
    Synchronize(d);
    c10::cuda::CUDACachingAllocator::emptyCache();
  }
#else
  (void)d;
#endif
}

bool IsOutOfMemory(absl::string_view message) {
  return message.find("out of memory") != absl::string_view::npos ||
         message.find("Out of memory") != absl::string_view::npos;
}

void AddMemoryCounters(const BenchDevice& d, benchmark::State& state) {
  const DeviceMemory m = PeakMemory(d);
  if (m.peak_allocated_mib < 0) return;
  state.counters["peak_gpu_allocated_mib"] = m.peak_allocated_mib;
  state.counters["peak_gpu_reserved_mib"] = m.peak_reserved_mib;
}

int Main(int argc, char** argv, const std::function<void()>& register_cases) {
  try {
    benchmark::Initialize(&argc, argv);  // takes --benchmark_* out
    absl::SetProgramUsageMessage(
        "end-to-end benchmark; --device, --precision, --data_dir and "
        "Google Benchmark's --benchmark_* flags");
    absl::ParseCommandLine(argc, argv);
    google::InitGoogleLogging(argv[0]);
    FLAGS_logtostderr = true;
    absl::StatusOr<BenchDevice> d = ResolveBenchDevice(
        absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_precision));
    if (!d.ok()) {
      std::fprintf(stderr, "error: %s\n",
                   std::string(d.status().message()).c_str());
      return 1;
    }
    MutableDevice() = *d;
    register_cases();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}

}  // namespace sniper::bench
