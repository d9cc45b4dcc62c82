#include "sniper/launch_env.h"

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sniper {

namespace {

absl::Status EnvInt(const char* name, int* out, bool* present) {
  const char* v = std::getenv(name);
  *present = v != nullptr && *v != '\0';
  if (!*present) return absl::OkStatus();
  if (!absl::SimpleAtoi(v, out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "environment variable ", name, "='", v, "' is not an integer"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment() {
  DistributedEnv env;
  bool has_rank = false, has_world = false, has_local = false, has_port = false,
       has_local_world = false;
  absl::Status s = EnvInt("RANK", &env.rank, &has_rank);
  if (s.ok()) s = EnvInt("WORLD_SIZE", &env.world_size, &has_world);
  if (s.ok()) s = EnvInt("LOCAL_RANK", &env.local_rank, &has_local);
  if (s.ok()) s = EnvInt("MASTER_PORT", &env.master_port, &has_port);
  if (s.ok()) {
    s = EnvInt("LOCAL_WORLD_SIZE", &env.local_world_size, &has_local_world);
  }
  if (!s.ok()) return s;
  if (!has_rank && !has_world) return DistributedEnv{};
  if (has_rank != has_world) {
    return absl::InvalidArgumentError(
        "set both RANK and WORLD_SIZE (or neither, for one process)");
  }
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("need 0 <= RANK < WORLD_SIZE, got RANK=", env.rank,
                     " WORLD_SIZE=", env.world_size));
  }
  env.launched = true;
  if (!has_local) env.local_rank = env.rank;
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a) {
    env.master_addr = a;
  }
  if (!has_local_world) {
    env.local_world_size = env.IsLoopback() ? env.world_size : 1;
  } else if (env.local_world_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LOCAL_WORLD_SIZE=", env.local_world_size, " must be >= 1"));
  }
  if (const char* a = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
      a != nullptr && std::string(a) == "True") {
    env.agent_store = true;
    bool has_restart = false;
    if (absl::Status r = EnvInt("TORCHELASTIC_RESTART_COUNT",
                                &env.restart_count, &has_restart);
        !r.ok()) {
      return r;
    }
  }
  if (env.launched && (env.master_port <= 0 || env.master_port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MASTER_PORT=", env.master_port, " is not a port"));
  }
  return env;
}

}  // namespace sniper
