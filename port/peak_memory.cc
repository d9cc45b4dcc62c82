#include "port/peak_memory.h"

#include <malloc.h>

#include <cstdio>
#include <cstring>

namespace sniper {
namespace {

// The value of "`key` <n> kB" in /proc/self/status, in bytes; -1 if absent.
int64_t StatusKib(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t bytes = -1;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, n) != 0) continue;
    long long kib = 0;
    if (std::sscanf(line + n, " %lld", &kib) == 1) bytes = kib * 1024;
    break;
  }
  std::fclose(f);
  return bytes;
}

}  // namespace

bool ResetPeakRss() {
  malloc_trim(0);
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

int64_t PeakRssBytes() { return StatusKib("VmHWM:"); }

int64_t CurrentRssBytes() { return StatusKib("VmRSS:"); }

}  // namespace sniper
