#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sniper/distributed.h"

namespace sniper {
namespace {

using ::testing::HasSubstr;

const torch::Device kCpu(torch::kCPU);
const torch::Device kGpu(torch::kCUDA, 0);

TEST(ResolveCommBackend, AutoOnTheCpuIsGloo) {
  const auto b = ResolveCommBackend(CommBackendRequest::kAuto, kCpu, false);
  if (!GlooAvailable()) {
    ASSERT_FALSE(b.ok());
    EXPECT_THAT(std::string(b.status().message()), HasSubstr("no Gloo"));
    return;
  }
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, CommBackend::kGloo);
}

TEST(ResolveCommBackend, AutoOnGpusIsNcclWhenEachProcessHasOne) {
  const auto own = ResolveCommBackend(CommBackendRequest::kAuto, kGpu, true);
  const auto shared =
      ResolveCommBackend(CommBackendRequest::kAuto, kGpu, false);
  if (NcclAvailable()) {
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(*own, CommBackend::kNccl);
  } else if (GlooAvailable()) {
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(*own, CommBackend::kGloo);
  }
  // Processes sharing a GPU cannot use NCCL.
  if (GlooAvailable()) {
    ASSERT_TRUE(shared.ok()) << shared.status();
    EXPECT_EQ(*shared, CommBackend::kGloo);
  } else {
    ASSERT_FALSE(shared.ok());
  }
}

TEST(ResolveCommBackend, NcclNeedsNcclCudaAndAGpuPerProcess) {
  const auto cpu = ResolveCommBackend(CommBackendRequest::kNccl, kCpu, false);
  ASSERT_FALSE(cpu.ok());
  EXPECT_THAT(std::string(cpu.status().message()),
              HasSubstr("PipelineConfig.distributed.backend: NCCL"));
  const auto shared =
      ResolveCommBackend(CommBackendRequest::kNccl, kGpu, false);
  ASSERT_FALSE(shared.ok());
  const auto own = ResolveCommBackend(CommBackendRequest::kNccl, kGpu, true);
  if (NcclAvailable()) {
    EXPECT_THAT(std::string(cpu.status().message()),
                HasSubstr("the network runs on cpu"));
    EXPECT_THAT(std::string(shared.status().message()),
                HasSubstr("a GPU per process"));
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(*own, CommBackend::kNccl);
  } else {
    EXPECT_THAT(std::string(cpu.status().message()),
                HasSubstr("this build has no NCCL"));
    ASSERT_FALSE(own.ok());
    EXPECT_THAT(std::string(own.status().message()), HasSubstr("use GLOO"));
  }
}

TEST(ResolveCommBackend, GlooIsTakenAsAsked) {
  for (const torch::Device& d : {kCpu, kGpu}) {
    for (const bool own : {false, true}) {
      const auto b = ResolveCommBackend(CommBackendRequest::kGloo, d, own);
      if (GlooAvailable()) {
        ASSERT_TRUE(b.ok()) << b.status();
        EXPECT_EQ(*b, CommBackend::kGloo);
      } else {
        ASSERT_FALSE(b.ok());
        EXPECT_THAT(std::string(b.status().message()),
                    HasSubstr("GLOO, but this build has no Gloo"));
      }
    }
  }
}

TEST(CommBackendName, NamesBoth) {
  EXPECT_STREQ(CommBackendName(CommBackend::kGloo), "Gloo");
  EXPECT_STREQ(CommBackendName(CommBackend::kNccl), "NCCL");
}

// A launcher's RANK/WORLD_SIZE make a process group even for one process
// (torchrun's convention; how a one-GPU machine exercises NCCL); none set:
// no group.
TEST(DistributedEnv, LaunchedEvenAlone) {
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT",
                        "LOCAL_WORLD_SIZE", "MASTER_ADDR"}) {
    unsetenv(v);
  }
  absl::StatusOr<DistributedEnv> plain = DistributedEnvFromEnvironment();
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->launched);
  EXPECT_EQ(plain->world_size, 1);

  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "1", 1);
  absl::StatusOr<DistributedEnv> alone = DistributedEnvFromEnvironment();
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_TRUE(alone->launched);
  EXPECT_EQ(alone->world_size, 1);
  EXPECT_EQ(alone->local_world_size, 1);

  setenv("MASTER_PORT", "70000", 1);
  EXPECT_THAT(std::string(DistributedEnvFromEnvironment().status().message()),
              HasSubstr("MASTER_PORT=70000 is not a port"));
  unsetenv("MASTER_PORT");
  unsetenv("WORLD_SIZE");
  EXPECT_THAT(std::string(DistributedEnvFromEnvironment().status().message()),
              HasSubstr("set both RANK and WORLD_SIZE"));
  unsetenv("RANK");
}

// torchrun's agent store: every rank a client, keys per restart attempt.
TEST(DistributedEnv, TorchrunAgentStore) {
  setenv("RANK", "1", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  setenv("TORCHELASTIC_RESTART_COUNT", "2", 1);
  absl::StatusOr<DistributedEnv> env = DistributedEnvFromEnvironment();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_TRUE(env->agent_store);
  EXPECT_EQ(env->restart_count, 2);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "False", 1);
  env = DistributedEnvFromEnvironment();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->agent_store);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  setenv("TORCHELASTIC_RESTART_COUNT", "x", 1);
  EXPECT_THAT(std::string(DistributedEnvFromEnvironment().status().message()),
              HasSubstr("TORCHELASTIC_RESTART_COUNT"));
  for (const char* v : {"RANK", "WORLD_SIZE", "TORCHELASTIC_USE_AGENT_STORE",
                        "TORCHELASTIC_RESTART_COUNT"}) {
    unsetenv(v);
  }
}

TEST(CollectiveWait, LeavesTheFailureReportItsBudgetWithinTheTimeout) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  EXPECT_EQ(CollectiveWait(seconds(300)), milliseconds(295000));
  EXPECT_EQ(CollectiveWait(seconds(10)), milliseconds(5000));
  EXPECT_EQ(CollectiveWait(seconds(9)), milliseconds(4500));
  EXPECT_EQ(CollectiveWait(seconds(1)), milliseconds(500));
  for (int s = 1; s <= 600; ++s) {
    const milliseconds wait = CollectiveWait(seconds(s));
    EXPECT_GT(wait, milliseconds(0)) << s;
    if (s >= 10) {
      EXPECT_LE(wait + kFailureReportBudget, seconds(s)) << s;
    }
  }
}

}  // namespace
}  // namespace sniper
