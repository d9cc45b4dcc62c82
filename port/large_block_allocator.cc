#include "port/large_block_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "port/torch_compat.h"

namespace sniper {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundToHugePages(size_t n) {
  return (n + kHugePage - 1) / kHugePage * kHugePage;
}

// Everything the allocator owns, under one mutex: the blocks handed out
// (by address: LibTorch's raw_deallocate hands back only the address, so
// the deleter works from it alone; every other address belongs to the
// replaced allocator) and the freed blocks kept for reuse, by size.
struct Blocks {
  std::mutex mutex;
  std::unordered_map<void*, size_t> live;
  struct Cached {
    void* address;
    uint64_t freed;  // when, in frees: the oldest goes first
  };
  std::multimap<size_t, Cached> cache;
  size_t cached_bytes = 0;
  uint64_t frees = 0;
  size_t limit = 0;
  LargeBlockStats stats;
};
Blocks& State() {
  static Blocks* blocks = new Blocks;
  return *blocks;
}
c10::DeleterFnPtr fallback_delete = nullptr;

// Takes the oldest cached block out of the cache (lock held).
std::pair<void*, size_t> TakeOldest(Blocks& b) {
  auto oldest = b.cache.begin();
  for (auto it = b.cache.begin(); it != b.cache.end(); ++it) {
    if (it->second.freed < oldest->second.freed) oldest = it;
  }
  const std::pair<void*, size_t> out{oldest->second.address, oldest->first};
  b.cached_bytes -= oldest->first;
  b.cache.erase(oldest);
  return out;
}

void Unmap(const std::vector<std::pair<void*, size_t>>& blocks) {
  for (const auto& [address, bytes] : blocks) munmap(address, bytes);
}

// Takes `p` back into the cache (or unmaps it when over the cap); false
// when the allocator did not hand it out.
bool Recycle(void* p) {
  Blocks& b = State();
  std::vector<std::pair<void*, size_t>> unmap;
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    const auto it = b.live.find(p);
    if (it == b.live.end()) return false;
    const size_t bytes = it->second;
    b.live.erase(it);
    if (bytes > b.limit) {
      unmap.push_back({p, bytes});
    } else {
      b.cache.insert({bytes, {p, ++b.frees}});
      b.cached_bytes += bytes;
      while (b.cached_bytes > b.limit) unmap.push_back(TakeOldest(b));
    }
    b.stats.unmapped += static_cast<int64_t>(unmap.size());
  }
  Unmap(unmap);
  return true;
}

void Delete(void* p) {
  if (!Recycle(p)) fallback_delete(p);
}

// A 2 MiB-aligned mapping of `bytes` (whole huge pages), advised
// MADV_HUGEPAGE; null when the kernel refuses.
void* Map(size_t bytes) {
  // One huge page more than needed, then the unaligned ends unmapped.
  void* raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = aligned + bytes;
  const uintptr_t end = start + bytes + kHugePage;
  if (end > tail) munmap(reinterpret_cast<void*>(tail), end - tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // advice: ignored without THP
  return p;
}

// A block of at least `n` bytes: a cached one at most a quarter larger
// than needed, else a fresh mapping; null when the kernel refuses.
void* TakeBlock(size_t n) {
  const size_t bytes = RoundToHugePages(n);
  Blocks& b = State();
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    const auto it = b.cache.lower_bound(bytes);
    if (it != b.cache.end() && it->first <= bytes + bytes / 4) {
      void* p = it->second.address;
      b.live.emplace(p, it->first);
      b.cached_bytes -= it->first;
      b.cache.erase(it);
      ++b.stats.reused;
      return p;
    }
  }
  void* p = Map(bytes);
  if (p == nullptr) {
    // The cache may be what fills the address space: drop it, try again.
    ReleaseCachedLargeBlocks();
    p = Map(bytes);
    if (p == nullptr) return nullptr;
  }
  std::lock_guard<std::mutex> lock(b.mutex);
  b.live.emplace(p, bytes);
  ++b.stats.mapped;
  return p;
}

class LargeBlockAllocator final : public c10::Allocator {
 public:
  explicit LargeBlockAllocator(c10::Allocator* fallback)
      : fallback_(fallback) {}

#ifdef SNIPER_ALLOCATOR_MUTABLE
  c10::DataPtr allocate(size_t n) override { return Allocate(n); }
  void copy_data(void* dest, const void* src,
                 std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t n) const override { return Allocate(n); }
#endif

 private:
  c10::DataPtr Allocate(size_t n) const {
    if (n >= kLargeBlockMinBytes) {
      if (void* p = TakeBlock(n); p != nullptr) {
        return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
      }
    }
    c10::DataPtr d = fallback_->allocate(n);
    void* data = d.get();
    if (data == nullptr) return d;
    // The replaced allocator's block (its context is its address), under
    // this allocator's deleter.
    void* context = d.release_context();
    return {data, context, &Delete, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  c10::Allocator* fallback_;
};

// SNIPER_LARGE_BLOCK_CACHE_MB, else min(2 GiB, physical memory / 8).
size_t CacheLimitFromEnvironment() {
  if (const char* env = std::getenv("SNIPER_LARGE_BLOCK_CACHE_MB")) {
    char* end = nullptr;
    const long long mib = std::strtoll(env, &end, 10);
    if (end != env && *end == '\0' && mib >= 0) {
      return static_cast<size_t>(mib) << 20;
    }
    std::fprintf(stderr,
                 "SNIPER_LARGE_BLOCK_CACHE_MB=%s is not a whole number of "
                 "MiB; using the default\n",
                 env);
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  const size_t eighth =
      pages > 0 && page > 0
          ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 8
          : 0;
  return std::min(size_t{2} << 30, eighth);
}

}  // namespace

bool InstallLargeBlockCpuAllocator(bool by_default) {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [by_default] {
    const char* env = std::getenv("SNIPER_LARGE_BLOCKS");
    const bool wanted = env == nullptr || *env == '\0'
                            ? by_default
                            : std::strcmp(env, "0") != 0;
    if (!wanted) return;
    c10::Allocator* previous = c10::GetCPUAllocator();
    fallback_delete = previous->raw_deleter();
    // Its blocks must be freeable from their address alone.
    if (fallback_delete == nullptr) return;
    {
      Blocks& b = State();
      std::lock_guard<std::mutex> lock(b.mutex);
      b.limit = CacheLimitFromEnvironment();
    }
    static LargeBlockAllocator allocator(previous);
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    installed = c10::GetCPUAllocator() == &allocator;
    if (installed) {
      // glibc's heap: free memory kept up to 512 MiB per arena instead of
      // trimmed (and faulted in again next step); every block under 32 MiB
      // from the heap from the start (the threshold glibc would reach).
      mallopt(M_TRIM_THRESHOLD, 512 << 20);
      mallopt(M_MMAP_THRESHOLD, 32 << 20);
    }
  });
  return installed;
}

LargeBlockStats GetLargeBlockStats() {
  Blocks& b = State();
  std::lock_guard<std::mutex> lock(b.mutex);
  LargeBlockStats s = b.stats;
  s.live = static_cast<int64_t>(b.live.size());
  s.cached = static_cast<int64_t>(b.cache.size());
  s.cached_bytes = static_cast<int64_t>(b.cached_bytes);
  return s;
}

size_t LargeBlockCacheLimitBytes() {
  Blocks& b = State();
  std::lock_guard<std::mutex> lock(b.mutex);
  return b.limit;
}

void ReleaseCachedLargeBlocks() {
  Blocks& b = State();
  std::vector<std::pair<void*, size_t>> unmap;
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    while (!b.cache.empty()) unmap.push_back(TakeOldest(b));
    b.stats.unmapped += static_cast<int64_t>(unmap.size());
  }
  Unmap(unmap);
}

}  // namespace sniper
