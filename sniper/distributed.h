// File: sniper/distributed.h
//
// Data-parallel training on PyTorch's c10d: a TCPStore rendezvous (rank 0
// serves it at MASTER_ADDR:MASTER_PORT) and a ProcessGroupGloo (CPU
// tensors). Launch the way PyTorch users do: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT in the environment (torchrun, Slurm,
// Kubernetes), or `bazel run //sniper:train -- --nproc=N` for N local
// processes.
//
// Faults: every collective has the configured timeout. A rank that dies
// closes its connections and the others fail at their next collective; a
// rank that hangs makes them time out. Either way the error names the
// ranks that stopped sending heartbeats (each rank bumps a counter in the
// store every second) and training stops with it; the last checkpoint
// (written atomically by rank 0) stays intact.
#ifndef SNIPER_SNIPER_DISTRIBUTED_H_
#define SNIPER_SNIPER_DISTRIBUTED_H_

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sniper {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// From RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; none set:
// one process. Errors name the variable and its value.
absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment();

class ProcessGroupState;  // c10d objects (distributed.cc)

class Distributed {
 public:
  // Connects to the others (blocks until all world_size ranks joined, or
  // `timeout`).
  static absl::StatusOr<std::unique_ptr<Distributed>> Connect(
      const DistributedEnv& env, std::chrono::seconds timeout);
  ~Distributed();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }

  // Rank 0's values of `tensors` on every rank (initial weights).
  absl::Status Broadcast(std::vector<torch::Tensor> tensors);
  // Sums `t` (a small CPU tensor) over the ranks, in place.
  absl::Status SumInPlace(torch::Tensor t);
  // Replaces every defined gradient of `params` with its mean over the
  // ranks, all-reducing flattened buckets of about `bucket_bytes`.
  absl::Status AverageGradients(const std::vector<torch::Tensor>& params,
                                int64_t bucket_bytes);
  absl::Status Barrier();
  // Rank 0 announces `key`; the others wait for it (up to `timeout`), e.g.
  // while rank 0 alone writes the proposals file.
  absl::Status Announce(const std::string& key);
  absl::Status WaitFor(const std::string& key, std::chrono::seconds timeout);

 private:
  Distributed(DistributedEnv env, std::chrono::seconds timeout);
  // A failed collective, with the ranks whose heartbeat stopped.
  absl::Status Failure(const std::string& what, const std::exception& e);

  DistributedEnv env_;
  std::chrono::seconds timeout_;
  std::unique_ptr<ProcessGroupState> state_;
  std::atomic<bool> stop_{false};
  std::thread heartbeat_;
};

}  // namespace sniper

#endif  // SNIPER_SNIPER_DISTRIBUTED_H_
