// File: port/peak_memory.h
//
// This process's peak resident memory (Linux VmHWM), resettable so that a
// phase (a benchmark case, a training stage) can measure its own peak.
//
//   ResetPeakRss();
//   RunStage();
//   const double mib = PeakRssBytes() / (1 << 20);
#ifndef SNIPER_PORT_PEAK_MEMORY_H_
#define SNIPER_PORT_PEAK_MEMORY_H_

#include <cstdint>

namespace sniper {

// Returns freed heap memory to the kernel (malloc_trim), so that memory an
// earlier phase freed does not stay resident, then resets the peak to the
// current resident size (writes "5" to /proc/self/clear_refs); false where
// the kernel does not allow it (the peak then keeps counting from the
// process's start).
bool ResetPeakRss();

// The peak resident memory since the process started or the last reset,
// in bytes; -1 where /proc/self/status cannot be read.
int64_t PeakRssBytes();

// The current resident memory in bytes (VmRSS); -1 where unreadable.
int64_t CurrentRssBytes();

}  // namespace sniper

#endif  // SNIPER_PORT_PEAK_MEMORY_H_
