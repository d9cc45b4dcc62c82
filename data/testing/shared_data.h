// File: data/testing/shared_data.h
//
// Where tests and benchmarks find the real COCO subset (never copied into the
// repository). Looks at $SNIPER_SHARED_DATA, then /work/shared/data. Callers
// skip cleanly when it returns an empty string.
#ifndef SNIPER_DATA_TESTING_SHARED_DATA_H_
#define SNIPER_DATA_TESTING_SHARED_DATA_H_

#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace sniper::testing {

inline bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The shared data directory if `relative` exists under it, else "".
inline std::string SharedDataPath(const std::string& relative) {
  const char* env = std::getenv("SNIPER_SHARED_DATA");
  for (const char* root : {env, "/work/shared/data"}) {
    if (root == nullptr || *root == '\0') continue;
    const std::string path = std::string(root) + "/" + relative;
    if (PathExists(path)) return path;
  }
  return "";
}

inline const char* kNoSharedData =
    "shared COCO data not found (set SNIPER_SHARED_DATA to the directory "
    "holding coco_mini/); skipping";

}  // namespace sniper::testing

#endif  // SNIPER_DATA_TESTING_SHARED_DATA_H_
