// File: port/huge_page_allocator.h
//
// LibTorch's CPU tensors of 32 MiB and more on transparent huge pages.
//
// LibTorch takes CPU memory from glibc's malloc, which maps every block of
// 32 MiB or more afresh (mmap) and unmaps it when freed; the kernel then
// faults it in 4 KiB at a time on first touch. A multi-scale forward pass
// allocates and frees dozens of such blocks per image (an 1536-pixel image
// batch and its first feature maps): `perf` showed a quarter of
// //sniper:eval's time at eval.batch_size 4 in the kernel's page-fault
// path on a 2-core machine, and glibc's own switch for huge pages
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) made that evaluation 2.6-3.1x
// faster (issue 42). This allocator does the same inside the process:
// blocks of kHugePageMinBytes and more are mapped 2 MiB-aligned and
// advised MADV_HUGEPAGE (the kernel faults them in 2 MiB at a time where
// /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always"; a
// no-op under "never"); smaller blocks go to the allocator it replaced.
//
// InstallHugePageCpuAllocator() once per process before the first large
// tensor (the CLIs' sessions and the benchmarks do); SNIPER_HUGE_PAGES=0 in
// the environment leaves LibTorch's allocator alone (for A/B timing).
#ifndef SNIPER_PORT_HUGE_PAGE_ALLOCATOR_H_
#define SNIPER_PORT_HUGE_PAGE_ALLOCATOR_H_

#include <cstddef>

namespace sniper {

inline constexpr size_t kHugePageMinBytes = size_t{32} << 20;

// Installs the allocator as LibTorch's CPU allocator (once; later calls do
// nothing) unless SNIPER_HUGE_PAGES=0. Returns whether it is installed.
bool InstallHugePageCpuAllocator();

// Blocks mapped by the allocator and not yet freed (tests).
size_t HugePageBlocksLive();

}  // namespace sniper

#endif  // SNIPER_PORT_HUGE_PAGE_ALLOCATOR_H_
