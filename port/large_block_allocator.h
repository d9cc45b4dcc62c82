// File: port/large_block_allocator.h
//
// LibTorch's CPU tensors of 32 MiB and more: on transparent huge pages, and
// kept for reuse when freed.
//
// LibTorch takes CPU memory from glibc's malloc, which maps every block of
// 32 MiB or more afresh (mmap) and unmaps it when freed (glibc will not
// raise its mmap threshold past 32 MiB); the kernel then faults the block
// in 4 KiB at a time on first touch, zeroing each page. A multi-scale
// forward pass allocates and frees dozens of such blocks per image (a
// 1536-pixel image batch and its first feature maps): `perf` put a quarter
// of //sniper:eval's time at eval.batch_size 4 in the kernel's page-fault
// path on a 2-core machine (issue 42).
//
// This allocator takes blocks of kLargeBlockMinBytes and more: each is a
// 2 MiB-aligned mapping advised MADV_HUGEPAGE (faulted in 2 MiB at a time
// where /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or
// "always"; a no-op under "never"), and a freed block goes to a cache from
// which a later request of the same size, or up to a quarter smaller, takes
// it back without a fault. The cache holds at most
// LargeBlockCacheLimitBytes() (the oldest blocks are unmapped first);
// smaller blocks go to the allocator it replaced.
//
// Installing it also keeps glibc from handing memory back between steps
// (mallopt: trim threshold 512 MiB, mmap threshold fixed at 32 MiB), so
// blocks under 32 MiB are not faulted in afresh either.
//
// InstallLargeBlockCpuAllocator(by_default) once per process before the
// first large tensor (the multi-scale detector does: docs/INFERENCE.md has
// its timings). The environment decides over `by_default`, for A/B
// timing: SNIPER_LARGE_BLOCKS=1 installs it,
// SNIPER_LARGE_BLOCKS=0 leaves LibTorch's allocator alone;
// SNIPER_LARGE_BLOCK_CACHE_MB=N caps the cache at N MiB (0: no reuse).
#ifndef SNIPER_PORT_LARGE_BLOCK_ALLOCATOR_H_
#define SNIPER_PORT_LARGE_BLOCK_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace sniper {

inline constexpr size_t kLargeBlockMinBytes = size_t{32} << 20;

// Installs the allocator as LibTorch's CPU allocator when SNIPER_LARGE_BLOCKS
// says 1, or is unset and `by_default` (the first call decides; later
// calls do nothing). Returns whether it is installed.
bool InstallLargeBlockCpuAllocator(bool by_default);

// What the allocator did so far in this process.
struct LargeBlockStats {
  int64_t live = 0;          // blocks handed out and not yet freed
  int64_t cached = 0;        // freed blocks kept for reuse
  int64_t cached_bytes = 0;  // their size
  int64_t mapped = 0;        // blocks mapped afresh
  int64_t reused = 0;        // requests served from the cache
  int64_t unmapped = 0;      // blocks given back to the kernel
};
LargeBlockStats GetLargeBlockStats();

// The cache's cap: SNIPER_LARGE_BLOCK_CACHE_MB, else 2 GiB or an eighth of
// the machine's memory, whichever is less.
size_t LargeBlockCacheLimitBytes();

// Unmaps every cached block (live blocks are untouched).
void ReleaseCachedLargeBlocks();

}  // namespace sniper

#endif  // SNIPER_PORT_LARGE_BLOCK_ALLOCATOR_H_
