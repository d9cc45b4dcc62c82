#include "port/huge_page_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "port/torch_compat.h"

namespace sniper {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The blocks this allocator mapped, by address (LibTorch's raw_allocate /
// raw_deallocate hand back only the address, so the deleter must work
// from it alone); every other address belongs to the replaced allocator.
std::mutex mapped_mutex;
std::unordered_map<void*, size_t>* mapped =
    new std::unordered_map<void*, size_t>;
c10::DeleterFnPtr fallback_delete = nullptr;

void Delete(void* p) {
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mapped_mutex);
    if (auto it = mapped->find(p); it != mapped->end()) {
      bytes = it->second;
      mapped->erase(it);
    }
  }
  if (bytes > 0) {
    munmap(p, bytes);
  } else {
    fallback_delete(p);
  }
}

class HugePageAllocator final : public c10::Allocator {
 public:
  explicit HugePageAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

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
    if (n >= kHugePageMinBytes) {
      if (void* p = Map(n); p != nullptr) {
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

  // A 2 MiB-aligned mapping of `n` bytes rounded up to huge pages, advised
  // MADV_HUGEPAGE; null when the kernel refuses.
  static void* Map(size_t n) {
    const size_t bytes = (n + kHugePage - 1) / kHugePage * kHugePage;
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
    std::lock_guard<std::mutex> lock(mapped_mutex);
    mapped->emplace(p, bytes);
    return p;
  }

  c10::Allocator* fallback_;
};

}  // namespace

bool InstallHugePageCpuAllocator() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    const char* env = std::getenv("SNIPER_HUGE_PAGES");
    if (env != nullptr && std::strcmp(env, "0") == 0) return;
    c10::Allocator* previous = c10::GetCPUAllocator();
    fallback_delete = previous->raw_deleter();
    // Its blocks must be freeable from their address alone.
    if (fallback_delete == nullptr) return;
    static HugePageAllocator allocator(previous);
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    installed = c10::GetCPUAllocator() == &allocator;
  });
  return installed;
}

size_t HugePageBlocksLive() {
  std::lock_guard<std::mutex> lock(mapped_mutex);
  return mapped->size();
}

}  // namespace sniper
