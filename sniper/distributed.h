// File: sniper/distributed.h
//
// Data-parallel training on PyTorch's c10d: a TCPStore rendezvous (rank 0
// serves it at MASTER_ADDR:MASTER_PORT) and a process group: Gloo (CPU
// tensors, or CUDA tensors through the host) or NCCL (CUDA tensors, one
// GPU per process). Launch the way PyTorch users do: RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT in the environment (torchrun, Slurm,
// Kubernetes), or `bazel run //sniper:train -- --nproc=N` for N local
// processes.
//
// Faults: every collective has the configured timeout. A rank that dies
// closes its connections and the others fail at their next collective; a
// rank that hangs makes them time out (NCCL: blocking wait, so the timeout
// surfaces as an error here instead of a watchdog aborting the process).
// Either way the error names the ranks that stopped sending heartbeats
// (each rank bumps a counter in the store twice a second) and training
// stops with it, within the timeout, the report included (CollectiveWait);
// the last checkpoint (written atomically by rank 0) stays intact.
#ifndef SNIPER_SNIPER_DISTRIBUTED_H_
#define SNIPER_SNIPER_DISTRIBUTED_H_

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sniper/launch_env.h"

namespace sniper {

enum class CommBackend { kGloo, kNccl };
enum class CommBackendRequest { kAuto, kGloo, kNccl };
const char* CommBackendName(CommBackend backend);

// What this build can do: Gloo needs its headers (Debian: libgloo-dev; a
// PyTorch wheel may lack them); NCCL needs a LibTorch with CUDA and nccl.h.
bool GlooAvailable();
bool NcclAvailable();

// The backend for a run whose network is on `device`. kAuto: NCCL when
// the device is CUDA, NCCL is built and every process on this machine has
// a GPU of its own (`gpu_per_process`), else Gloo. Errors name
// PipelineConfig.distributed.backend and say what to change.
absl::StatusOr<CommBackend> ResolveCommBackend(CommBackendRequest requested,
                                               const torch::Device& device,
                                               bool gpu_per_process);

// A failed collective's report (which ranks stopped) takes at most this;
// collectives wait distributed.timeout_s less this (half the timeout when
// that is under twice this), so a rank stops within timeout_s of the
// moment it started waiting for a peer that went silent.
inline constexpr std::chrono::seconds kFailureReportBudget{5};
std::chrono::milliseconds CollectiveWait(std::chrono::seconds timeout);

class ProcessGroupState;  // c10d objects (distributed.cc)
class Distributed;

// Averages gradients over the ranks while backward runs (as PyTorch's DDP):
// parameters are grouped, in reverse order of registration (the order
// their gradients appear), into flat buckets of about bucket_bytes; a hook
// on each parameter copies its gradient into its bucket, and a full bucket
// is all-reduced asynchronously, buckets always launched in the same
// order on every rank. Finish() fills the gradients of parameters that got
// none this step with zeros (every rank must reduce the same buckets),
// waits, and writes the means into the parameters' .grad.
class GradientReducer {
 public:
  ~GradientReducer();
  // Call before backward.
  void Arm();
  // Call after backward.
  absl::Status Finish();
  int num_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  friend class Distributed;
  struct Bucket;
  GradientReducer(Distributed* dist, std::vector<torch::Tensor> params,
                  int64_t bucket_bytes);
  void OnGradient(size_t param, const torch::Tensor& grad);
  void LaunchReady();

  Distributed* dist_;
  std::vector<torch::Tensor> params_;
  struct Slot {
    int bucket;
    int64_t offset;   // in the bucket's flat buffer
    size_t position;  // in the bucket's parameter list
  };
  std::vector<Slot> slot_;  // per parameter
  std::vector<std::unique_ptr<Bucket>> buckets_;
  size_t next_launch_ = 0;
  bool armed_ = false;
  std::string error_;
};

class Distributed {
 public:
  // Connects to the others (blocks until all world_size ranks joined, or
  // `timeout`). `device`: where the network runs (NCCL: this rank's GPU;
  // CPU tensors are staged through it when the build has no Gloo).
  static absl::StatusOr<std::unique_ptr<Distributed>> Connect(
      const DistributedEnv& env, std::chrono::seconds timeout,
      CommBackend backend, const torch::Device& device);
  ~Distributed();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  CommBackend backend() const { return backend_; }

  // Rank 0's values of `tensors` on every rank (initial weights).
  absl::Status Broadcast(std::vector<torch::Tensor> tensors);
  // Sums `t` (a small tensor, CPU or the device) over the ranks, in place.
  absl::Status SumInPlace(torch::Tensor t);
  // A reducer for `params` (the trainable parameters, the same list on
  // every rank).
  std::unique_ptr<GradientReducer> MakeReducer(
      std::vector<torch::Tensor> params, int64_t bucket_bytes);
  absl::Status Barrier();
  // Synchronized batch norm's statistics travel on a second process group
  // (its collectives run inside forward and backward, in an order that
  // need not match the gradient buckets'). Sum in place; throws c10::Error.
  absl::Status EnableSyncBatchNorm();
  void SyncBatchNormSum(torch::Tensor& t);
  // Rank 0 announces `key`; the others wait for it (up to `timeout`), e.g.
  // while rank 0 alone writes the proposals file.
  absl::Status Announce(const std::string& key);
  absl::Status WaitFor(const std::string& key, std::chrono::seconds timeout);

 private:
  friend class GradientReducer;
  Distributed(DistributedEnv env, std::chrono::seconds timeout,
              CommBackend backend, torch::Device device);
  // A failed collective, with the ranks whose heartbeat stopped.
  absl::Status Failure(const std::string& what, const std::exception& e);
  // Counts a collective this rank enters (the heartbeat publishes it).
  void CountCollective();
  // Runs one collective: counts it, turns exceptions into Failure().
  absl::Status Collective(const char* what, const std::function<void()>& body);

  DistributedEnv env_;
  std::chrono::seconds timeout_;
  CommBackend backend_;
  torch::Device device_;
  std::unique_ptr<ProcessGroupState> state_;
  // The heartbeat thread's state, shared with it: a beat blocked on a lost
  // link is left behind (detached) rather than joined forever.
  struct HeartbeatState;
  std::shared_ptr<HeartbeatState> beat_;
  std::thread heartbeat_;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_DISTRIBUTED_H_
