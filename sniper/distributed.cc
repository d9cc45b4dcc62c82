#include "sniper/distributed.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "port/torch_compat.h"
#include "sniper/process_groups.h"

namespace sniper {

const char* CommBackendName(CommBackend backend) {
  return backend == CommBackend::kNccl ? "NCCL" : "Gloo";
}

bool GlooAvailable() {
#ifdef SNIPER_HAS_GLOO
  return true;
#else
  return false;
#endif
}

bool NcclAvailable() {
#ifdef SNIPER_HAS_NCCL
  return true;
#else
  return false;
#endif
}

absl::StatusOr<CommBackend> ResolveCommBackend(CommBackendRequest requested,
                                               const torch::Device& device,
                                               bool gpu_per_process) {
  constexpr char kField[] = "PipelineConfig.distributed.backend: ";
  const std::string no_gloo =
      "this build has no Gloo (its headers were missing: install "
      "libgloo-dev, or use a LibTorch that ships gloo/, and rebuild)";
  const std::string shared_gpu =
      "NCCL needs a GPU per process, but this machine runs more processes "
      "than it has GPUs (or device names one GPU for all); start one "
      "process per GPU, or use GLOO (processes may share a GPU)";
  switch (requested) {
    case CommBackendRequest::kNccl:
      if (!NcclAvailable()) {
        return absl::FailedPreconditionError(absl::StrCat(
            kField,
            "NCCL, but this build has no NCCL (its LibTorch has no CUDA, "
            "e.g. Debian's, or nccl.h was not found; tools/gpu/build.sh "
            "builds with the GPU machine's PyTorch); use GLOO"));
      }
      if (!device.is_cuda()) {
        return absl::FailedPreconditionError(absl::StrCat(
            kField, "NCCL all-reduces CUDA tensors, but the network runs on ",
            device.str(), "; set device: \"cuda\" or backend: GLOO"));
      }
      if (!gpu_per_process) {
        return absl::FailedPreconditionError(absl::StrCat(kField, shared_gpu));
      }
      return CommBackend::kNccl;
    case CommBackendRequest::kGloo:
      if (!GlooAvailable()) {
        return absl::FailedPreconditionError(
            absl::StrCat(kField, "GLOO, but ", no_gloo,
                         NcclAvailable() ? "; or use NCCL" : ""));
      }
      return CommBackend::kGloo;
    case CommBackendRequest::kAuto:
      break;
  }
  if (device.is_cuda() && gpu_per_process && NcclAvailable()) {
    return CommBackend::kNccl;
  }
  if (GlooAvailable()) return CommBackend::kGloo;
  if (device.is_cuda() && NcclAvailable()) {
    return absl::FailedPreconditionError(absl::StrCat(
        kField, "AUTO picked NCCL (", no_gloo, "), but ", shared_gpu));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(kField, "several processes, but ", no_gloo,
                   NcclAvailable() ? " and NCCL needs the network on CUDA"
                                   : " and it has no NCCL either"));
}

Distributed::Distributed(DistributedEnv env, std::chrono::seconds timeout,
                         CommBackend backend, torch::Device device)
    : env_(std::move(env)),
      timeout_(timeout),
      backend_(backend),
      device_(device),
      state_(std::make_unique<ProcessGroupState>()) {}

std::chrono::milliseconds CollectiveWait(std::chrono::seconds timeout) {
  const std::chrono::milliseconds all = timeout;
  return timeout >= 2 * kFailureReportBudget ? all - kFailureReportBudget
                                             : all / 2;
}

namespace {

// A failure report's parts (within kFailureReportBudget with a second to
// end the heartbeat thread): reaching rank 0's store (a LAN connect takes
// milliseconds; on the cut side of a lost link it never succeeds), then
// watching the heartbeats, which every live rank bumps each kBeatEvery.
constexpr std::chrono::seconds kReportConnect{2};
constexpr std::chrono::milliseconds kReportSampling{1500};
constexpr std::chrono::milliseconds kBeatEvery{500};
static_assert(kReportConnect + kReportSampling + std::chrono::seconds(1) <
              kFailureReportBudget);
static_assert(kReportSampling >= 3 * kBeatEvery);

}  // namespace

// What the heartbeat thread reads and writes; it holds a reference, so a
// thread left behind (detached) never touches a destroyed Distributed.
struct Distributed::HeartbeatState {
  std::atomic<bool> stop{false};
  std::atomic<bool> ended{false};
  std::atomic<int64_t> progress{0};  // collectives entered by this rank
#ifdef SNIPER_HAS_C10D
  c10::intrusive_ptr<c10d::Store> store;
#endif
};

void Distributed::CountCollective() {
  if (beat_ != nullptr) ++beat_->progress;
}

Distributed::~Distributed() {
  if (!heartbeat_.joinable()) return;
  beat_->stop = true;
  // The loop sees `stop` within 100 ms, unless a beat is blocked: the
  // store client's reply wait has no timeout, and a lost link (a host gone,
  // a cable out) blocks it for good. Such a thread is left behind after a
  // second rather than keeping the process from ending.
  for (int i = 0; i < 10 && !beat_->ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (beat_->ended) {
    heartbeat_.join();
  } else {
    heartbeat_.detach();
  }
}

#ifdef SNIPER_HAS_C10D

namespace {

using Groups = ProcessGroupState::Groups;

// `store` as this group sees it: torchrun's agent store holds every restart
// attempt's keys, each attempt under its own prefix (as PyTorch's workers
// do), so a restarted group never reads the last one's.
c10::intrusive_ptr<c10d::Store> InAttempt(
    const DistributedEnv& env, c10::intrusive_ptr<c10d::TCPStore> store) {
  if (!env.agent_store) {
    return c10::static_intrusive_pointer_cast<c10d::Store>(store);
  }
  return c10::make_intrusive<c10d::PrefixStore>(
      absl::StrCat("/worker/attempt_", env.restart_count), std::move(store));
}

// Another connection to rank 0's store (the heartbeat thread's, a waiter's,
// a failure report's).
c10::intrusive_ptr<c10d::Store> ClientStore(const DistributedEnv& env,
                                            std::chrono::seconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(env.master_port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = timeout;
  compat::UseSocketTcpStore(o);
  return InAttempt(env,
                   c10::make_intrusive<c10d::TCPStore>(env.master_addr, o));
}

// The groups of `backend` over `store`: Gloo whenever the build has it
// (the loopback device when the master is local), NCCL for the NCCL
// backend. Their keys live under separate prefixes.
Groups MakeGroups(const DistributedEnv& env, std::chrono::seconds timeout,
                  CommBackend backend,
                  const c10::intrusive_ptr<c10d::Store>& store) {
  Groups g;
  const std::chrono::milliseconds ms = CollectiveWait(timeout);
#ifdef SNIPER_HAS_GLOO
  auto po = c10d::ProcessGroupGloo::Options::create();
  po->timeout = ms;
  // GLOO_SOCKET_IFNAME (comma-separated interfaces, as PyTorch's Python
  // front end reads it): Gloo's traffic goes over those; else loopback for
  // a loopback rendezvous, else the interface the hostname resolves to.
  const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifnames != nullptr && *ifnames != '\0') {
    for (absl::string_view name : absl::StrSplit(ifnames, ',')) {
      if (name.empty()) continue;
      po->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForInterface(std::string(name)));
    }
  } else {
    po->devices.push_back(
        env.IsLoopback()
            ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
            : c10d::ProcessGroupGloo::createDefaultDevice());
  }
  g.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>("gloo", store), env.rank,
      env.world_size, po);
#endif
#ifdef SNIPER_HAS_NCCL
  if (backend == CommBackend::kNccl) {
    // wait() then blocks and throws past the timeout, so a hung rank ends
    // in Failure()'s message (unless the user chose otherwise).
    setenv(compat::kNcclBlockingWaitEnv, "1", /*overwrite=*/0);
    auto no = c10d::ProcessGroupNCCL::Options::create();
    no->timeout = ms;
    g.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        c10::make_intrusive<c10d::PrefixStore>("nccl", store), env.rank,
        env.world_size, no);
  }
#else
  (void)backend;
#endif
  return g;
}

// Runs `op` (a collective on one tensor) on `t` and waits; a CPU tensor in
// a build without Gloo travels through `device` and back.
template <typename Op>
void RunOn(const Groups& g, const torch::Device& device, at::Tensor& t,
           const Op& op) {
  if (compat::C10dGroup* group = GroupFor(g, t); group != nullptr) {
    std::vector<at::Tensor> one{t};
    op(*group, one)->wait();
    return;
  }
  std::vector<at::Tensor> one{t.to(device)};
  op(*g.nccl, one)->wait();
  t.copy_(one[0]);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Distributed>> Distributed::Connect(
    const DistributedEnv& env, std::chrono::seconds timeout,
    CommBackend backend, const torch::Device& device) {
  std::unique_ptr<Distributed> d(
      new Distributed(env, timeout, backend, device));
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(env.master_port);
    o.isServer = env.rank == 0 && !env.agent_store;  // else torchrun's
    o.numWorkers = env.world_size;
    o.waitWorkers = true;
    o.timeout = timeout;
    compat::UseSocketTcpStore(o);
    d->state_->store =
        InAttempt(env, c10::make_intrusive<c10d::TCPStore>(env.master_addr, o));
    d->beat_ = std::make_shared<HeartbeatState>();
    d->beat_->store = ClientStore(env, std::chrono::seconds(10));
    d->state_->main = MakeGroups(env, timeout, backend, d->state_->store);
  } catch (const std::exception& e) {
    // LibTorch's errors carry a backtrace after their message.
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    return absl::UnavailableError(absl::StrCat(
        "rank ", env.rank, " of ", env.world_size,
        ": cannot join the process group at ", env.master_addr, ":",
        env.master_port, " within ", timeout.count(), " s: ",
        torch_error != nullptr ? torch_error->what_without_backtrace()
                               : e.what()));
  }
  // Every kBeatEvery: bump this rank's heartbeat and publish how many
  // collectives it has entered (a failure report compares the ranks).
  d->heartbeat_ = std::thread([state = d->beat_, rank = env.rank] {
    const std::string beat = absl::StrCat("heartbeat/", rank);
    const std::string progress = absl::StrCat("progress/", rank);
    int64_t published = 0;
    while (!state->stop) {
      try {
        state->store->add(beat, 1);
        const int64_t now = state->progress;
        state->store->add(progress, now - published);
        published = now;
      } catch (const std::exception&) {
        break;  // the store is gone: collectives will say so
      }
      for (auto slept = std::chrono::milliseconds(0);
           slept < kBeatEvery && !state->stop;
           slept += std::chrono::milliseconds(100)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    state->ended = true;
  });
  return d;
}

absl::Status Distributed::Failure(const std::string& what,
                                  const std::exception& e) {
  std::string message(e.what());
  if (const size_t nl = message.find('\n'); nl != std::string::npos) {
    message.resize(nl);
  }
  std::string who;
  try {
    auto store = ClientStore(env_, kReportConnect);
    auto read = [&](const std::string& prefix) {
      std::vector<int64_t> v;
      for (int r = 0; r < env_.world_size; ++r) {
        v.push_back(store->add(absl::StrCat(prefix, r), 0));
      }
      return v;
    };
    const std::vector<int64_t> before = read("heartbeat/");
    std::this_thread::sleep_for(kReportSampling);
    const std::vector<int64_t> after = read("heartbeat/");
    const std::vector<int64_t> progress = read("progress/");
    const int64_t most = *std::max_element(progress.begin(), progress.end());
    std::vector<std::string> dead, behind;
    for (int r = 0; r < env_.world_size; ++r) {
      if (after[r] == before[r]) {
        dead.push_back(absl::StrCat(r));
      } else if (progress[r] < most) {
        behind.push_back(absl::StrCat(r));
      }
    }
    if (!dead.empty()) {
      who = absl::StrCat("; rank ", absl::StrJoin(dead, ", "),
                         " stopped (no heartbeat)");
    }
    if (!behind.empty()) {
      absl::StrAppend(&who, "; rank ", absl::StrJoin(behind, ", "),
                      " is alive but behind (hung?)");
    }
  } catch (const std::exception&) {
    who = absl::StrCat("; rank 0 (the rendezvous store at ", env_.master_addr,
                       ":", env_.master_port,
                       ") is unreachable: it stopped, or the network to it "
                       "is down");
  }
  return absl::UnavailableError(absl::StrCat(
      "rank ", env_.rank, " of ", env_.world_size, ": ", what, " failed (",
      message, ")", who,
      ". The last checkpoint is intact; fix the rank or the network and run "
      "the same command again: it continues from there (torchrun's "
      "--max_restarts does so by itself)."));
}

absl::Status Distributed::Collective(const char* what,
                                     const std::function<void()>& body) {
  try {
    CountCollective();
    body();
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

namespace {

auto BroadcastOp() {
  return [](compat::C10dGroup& g, std::vector<at::Tensor>& one) {
    return g.broadcast(one);
  };
}
auto AllreduceOp() {
  return [](compat::C10dGroup& g, std::vector<at::Tensor>& one) {
    return g.allreduce(one);
  };
}

}  // namespace

absl::Status Distributed::Broadcast(std::vector<torch::Tensor> tensors) {
  return Collective("broadcast", [&] {
    for (torch::Tensor& t : tensors) {
      at::Tensor c = t.contiguous();
      RunOn(state_->main, device_, c, BroadcastOp());
      if (!c.is_same(t)) t.copy_(c);
    }
  });
}

absl::Status Distributed::SumInPlace(torch::Tensor t) {
  return Collective("all-reduce",
                    [&] { RunOn(state_->main, device_, t, AllreduceOp()); });
}

absl::Status Distributed::EnableSyncBatchNorm() {
  if (state_->bn.gloo || state_->bn.nccl) return absl::OkStatus();
  return Collective("creating the batch-norm process group", [&] {
    state_->bn = MakeGroups(
        env_, timeout_, backend_,
        c10::make_intrusive<c10d::PrefixStore>("syncbn", state_->store));
  });
}

void Distributed::SyncBatchNormSum(torch::Tensor& t) {
  const absl::Status s = Collective("synchronized batch norm", [&] {
    RunOn(state_->bn, device_, t, AllreduceOp());
  });
  TORCH_CHECK(s.ok(), std::string(s.message()));
}

absl::Status Distributed::Barrier() {
  return Collective("barrier", [&] {
    if (state_->main.gloo) {
      state_->main.gloo->barrier()->wait();
    } else {  // NCCL alone: a one-element all-reduce on this rank's GPU
      at::Tensor one = torch::zeros({1}, torch::TensorOptions(device_));
      RunOn(state_->main, device_, one, AllreduceOp());
    }
  });
}

absl::Status Distributed::Announce(const std::string& key) {
  return Collective("announce", [&] {
    state_->store->set(absl::StrCat("announce/", key), std::vector<uint8_t>{1});
  });
}

absl::Status Distributed::WaitFor(const std::string& key,
                                  std::chrono::seconds timeout) {
  return Collective("waiting for rank 0", [&] {
    auto store = ClientStore(env_, timeout);
    store->wait({absl::StrCat("announce/", key)}, timeout);
  });
}

#else  // neither Gloo nor NCCL: one process only

absl::StatusOr<std::unique_ptr<Distributed>> Distributed::Connect(
    const DistributedEnv& env, std::chrono::seconds, CommBackend,
    const torch::Device&) {
  return absl::UnimplementedError(absl::StrCat(
      "WORLD_SIZE=", env.world_size,
      " but this build has neither Gloo nor NCCL (install libgloo-dev and "
      "rebuild)"));
}
absl::Status Distributed::Failure(const std::string& what,
                                  const std::exception& e) {
  return absl::InternalError(absl::StrCat(what, ": ", e.what()));
}
absl::Status Distributed::Collective(const char*,
                                     const std::function<void()>&) {
  return absl::UnimplementedError("no Gloo or NCCL");
}
absl::Status Distributed::Broadcast(std::vector<torch::Tensor>) {
  return absl::UnimplementedError("no Gloo or NCCL");
}
absl::Status Distributed::SumInPlace(torch::Tensor) {
  return absl::UnimplementedError("no Gloo or NCCL");
}
absl::Status Distributed::Barrier() {
  return absl::UnimplementedError("no Gloo or NCCL");
}
absl::Status Distributed::EnableSyncBatchNorm() {
  return absl::UnimplementedError("no Gloo or NCCL");
}
void Distributed::SyncBatchNormSum(torch::Tensor&) {
  TORCH_CHECK(false, "no Gloo or NCCL");
}
absl::Status Distributed::Announce(const std::string&) {
  return absl::UnimplementedError("no Gloo or NCCL");
}
absl::Status Distributed::WaitFor(const std::string&, std::chrono::seconds) {
  return absl::UnimplementedError("no Gloo or NCCL");
}
#endif

}  // namespace sniper
