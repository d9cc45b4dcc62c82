// File: port/torch_compat.h
//
// The one place where LibTorch 1.13 (Debian, CI) and 2.x (the GPU machine)
// differ for this project.
//
//   AutocastGuard autocast(device, at::kBFloat16);  // autocast on `device`
//                                                   // until scope exit
//   c10::intrusive_ptr<C10dGroup> g = gloo_or_nccl;  // their common base
//   ZeroGrad(optimizer);  // gradients to zero (not undefined) on both
//   UseSocketTcpStore(options);  // c10d::TCPStoreOptions without libuv
#ifndef SNIPER_PORT_TORCH_COMPAT_H_
#define SNIPER_PORT_TORCH_COMPAT_H_

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <optional>

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace sniper::compat {

// The common base class of c10d::ProcessGroupGloo and ProcessGroupNCCL
// (collectives: allreduce, broadcast, barrier): ProcessGroup in 1.13,
// Backend from 2.0 on.
#if TORCH_VERSION_MAJOR >= 2
using C10dGroup = c10d::Backend;
#else
using C10dGroup = c10d::ProcessGroup;
#endif

// Set to 1, ProcessGroupNCCL's Work::wait() blocks and throws when a
// collective exceeds the group's timeout (instead of a watchdog aborting
// the process); renamed in 2.2.
#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
inline constexpr char kNcclBlockingWaitEnv[] = "TORCH_NCCL_BLOCKING_WAIT";
#else
inline constexpr char kNcclBlockingWaitEnv[] = "NCCL_BLOCKING_WAIT";
#endif

#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SNIPER_AUTOCAST_BY_DEVICE 1
#endif

// c10::Allocator: allocate() const in 1.x, non-const with a pure virtual
// copy_data() from 2.3 on (port/large_block_allocator.cc).
#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define SNIPER_ALLOCATOR_MUTABLE 1
#endif

inline bool AutocastEnabled(c10::DeviceType device) {
#ifdef SNIPER_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                         : at::autocast::is_cpu_enabled();
#endif
}

inline void SetAutocast(c10::DeviceType device, bool enabled,
                        c10::ScalarType dtype) {
#ifdef SNIPER_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(device, enabled);
  if (enabled) at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    if (enabled) at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    if (enabled) at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

// Mixed precision for the ops in scope: matrix products and convolutions
// in `dtype` on `device` (CPU: BFloat16 only), reductions and losses in
// float32. Restores the previous state and frees the cast cache on exit.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, c10::ScalarType dtype)
      : device_(device), was_enabled_(AutocastEnabled(device)) {
    SetAutocast(device_, true, dtype);
  }
  ~AutocastGuard() {
    SetAutocast(device_, was_enabled_, c10::ScalarType::Float);
    if (!was_enabled_) at::autocast::clear_cache();
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
};

// An AutocastGuard when `dtype` is set, nothing otherwise.
class OptionalAutocast {
 public:
  OptionalAutocast(c10::DeviceType device,
                   std::optional<c10::ScalarType> dtype) {
    if (dtype.has_value()) guard_.emplace(device, *dtype);
  }

 private:
  std::optional<AutocastGuard> guard_;
};

// Zeroes the gradients of `optimizer`'s parameters. 2.x's zero_grad()
// resets them to undefined by default (then SGD skips a parameter that got
// no gradient: no weight decay, no momentum); 1.13's zeroes them. Zeroing
// on both keeps the two builds' training the same.
inline void ZeroGrad(torch::optim::Optimizer& optimizer) {
#if TORCH_VERSION_MAJOR >= 2
  optimizer.zero_grad(/*set_to_none=*/false);
#else
  optimizer.zero_grad();
#endif
}

// Sets a c10d::TCPStoreOptions to TCPStore's socket transport. From 2.4
// on the default is its libuv transport, which builds without libuv (Debian
// 13's LibTorch 2.6) refuse at connect time ("use_libuv was requested but
// PyTorch was build without libuv support"); the socket transport is in
// every build and ample for our world sizes. A template, so that this
// header needs no c10d header.
template <typename TcpStoreOptions>
void UseSocketTcpStore(TcpStoreOptions& options) {
#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  options.useLibUV = false;
#else
  (void)options;
#endif
}

}  // namespace sniper::compat

#endif  // SNIPER_PORT_TORCH_COMPAT_H_
