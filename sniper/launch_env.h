// File: sniper/launch_env.h
//
// How a launcher started this process: RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as torchrun, Slurm and
// Kubernetes set them (sniper/distributed.h joins the process group).
#ifndef SNIPER_SNIPER_LAUNCH_ENV_H_
#define SNIPER_SNIPER_LAUNCH_ENV_H_

#include <string>

#include "absl/status/statusor.h"

namespace sniper {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  // Processes on this machine (LOCAL_WORLD_SIZE; unset: world_size when the
  // master is on loopback, else 1). They share its cores and GPUs.
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // RANK and WORLD_SIZE were set (a launcher started this process): it
  // joins a process group even when WORLD_SIZE is 1, as torchrun's
  // one-process runs do (and as a one-GPU machine tests NCCL).
  bool launched = false;
  // TORCHELASTIC_USE_AGENT_STORE=True (torchrun's static rendezvous; 2.x's
  // c10d one too): the agent hosts the store at MASTER_ADDR:MASTER_PORT,
  // every rank is a client, and a restarted group's keys live apart
  // (/worker/attempt_<TORCHELASTIC_RESTART_COUNT>/).
  bool agent_store = false;
  int restart_count = 0;
  bool IsLoopback() const {
    return master_addr == "127.0.0.1" || master_addr == "localhost";
  }
};

// From RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (and
// torchrun's TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT); none
// set: one process, no process group. Errors name the variable and its value.
absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment();

}  // namespace sniper

#endif  // SNIPER_SNIPER_LAUNCH_ENV_H_
