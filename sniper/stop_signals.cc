#include "sniper/stop_signals.h"

#include <signal.h>

#include <atomic>

#include "absl/strings/str_cat.h"

namespace sniper {
namespace {

std::atomic<int> g_requested{0};
static_assert(std::atomic<int>::is_always_lock_free,
              "the handler needs a lock-free atomic");

void OnStopSignal(int sig) {
  int none = 0;
  if (g_requested.compare_exchange_strong(none, sig)) return;
  // A second signal: what it would have done without us.
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void InstallStopSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

int StopRequested() { return g_requested.load(std::memory_order_relaxed); }

void RequestStop(int signal_number) {
  int none = 0;
  g_requested.compare_exchange_strong(none, signal_number);
}

void ClearStopRequest() { g_requested.store(0); }

std::string StopSignalName(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return absl::StrCat("signal ", signal_number);
  }
}

}  // namespace sniper
