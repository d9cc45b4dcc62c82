// File: port/paths.h
//
// Paths given on the command line of a `bazel run` binary are relative to
// the user's directory, not the runfiles directory Bazel starts it in.
#ifndef SNIPER_PORT_PATHS_H_
#define SNIPER_PORT_PATHS_H_

#include <cstdlib>
#include <string>

namespace sniper {

// `path` made absolute against $BUILD_WORKING_DIRECTORY (set by `bazel
// run`) when it is relative; unchanged otherwise.
inline std::string ResolveUserPath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || *cwd == '\0') return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace sniper

#endif  // SNIPER_PORT_PATHS_H_
