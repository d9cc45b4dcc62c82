// File: sniper/stop_signals.h
//
// Preemption: cluster schedulers (Slurm, Kubernetes) and torchrun send
// SIGTERM some time before SIGKILL. With StopSignals installed, the first
// SIGTERM, SIGINT or SIGUSR1 only records a request: the training loop
// finishes its step, the ranks agree on the step to stop at, rank 0 writes
// a checkpoint, and //sniper:train exits with kStoppedExitCode and a line
// saying how to continue. A second signal takes its default action (the
// process ends at once; the checkpoints on disk are intact as after any
// kill). Torch-free; the state is one process-wide atomic.
//
//   sniper::InstallStopSignals();            // once, in main
//   if (sniper::StopRequested() != 0) ...    // between steps
#ifndef SNIPER_SNIPER_STOP_SIGNALS_H_
#define SNIPER_SNIPER_STOP_SIGNALS_H_

#include <string>

namespace sniper {

// //sniper:train's exit code after a requested stop (EX_TEMPFAIL: "try
// again"; the work directory continues with --resume).
inline constexpr int kStoppedExitCode = 75;

// Handlers for SIGTERM, SIGINT and SIGUSR1 (first: request; second: the
// signal's default action).
void InstallStopSignals();

// The first stop signal received (SIGTERM, ...), or 0.
int StopRequested();

// Records a request as the first signal would (tests; a launcher passing a
// request on).
void RequestStop(int signal_number);

// Forgets the request (tests).
void ClearStopRequest();

// "SIGTERM", "SIGINT", "SIGUSR1", else "signal N".
std::string StopSignalName(int signal_number);

}  // namespace sniper

#endif  // SNIPER_SNIPER_STOP_SIGNALS_H_
