// File: sniper/process_groups.h
//
// Internal to the distributed target (distributed.cc, gradient_reducer.cc):
// which c10d backends this build has (SNIPER_HAS_GLOO, SNIPER_HAS_NCCL,
// SNIPER_HAS_C10D, from the headers LibTorch ships) and the process groups
// a Distributed holds.
#ifndef SNIPER_SNIPER_PROCESS_GROUPS_H_
#define SNIPER_SNIPER_PROCESS_GROUPS_H_

#include "port/torch_compat.h"

#if __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define SNIPER_HAS_GLOO 1
#endif
// LibTorch with CUDA ships ProcessGroupNCCL; its header needs nccl.h.
#if defined(SNIPER_TORCH_HAS_CUDA) && __has_include(<nccl.h>)
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define SNIPER_HAS_NCCL 1
#endif
#if defined(SNIPER_HAS_GLOO) || defined(SNIPER_HAS_NCCL)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define SNIPER_HAS_C10D 1
#endif

namespace sniper {

#ifdef SNIPER_HAS_C10D
class ProcessGroupState {
 public:
  // One set of process groups: Gloo for CPU tensors (and CUDA ones when
  // the backend is Gloo), NCCL for CUDA tensors when the backend is NCCL.
  // Either may be missing from a build; ResolveCommBackend() keeps a run
  // from needing the missing one.
  struct Groups {
    c10::intrusive_ptr<compat::C10dGroup> gloo;
    c10::intrusive_ptr<compat::C10dGroup> nccl;
  };
  c10::intrusive_ptr<c10d::Store> store;  // collectives' rendezvous
  Groups main;
  Groups bn;  // synchronized BN
};
#else
class ProcessGroupState {};
#endif

#ifdef SNIPER_HAS_C10D
// The group for `t`: NCCL for CUDA tensors when there is one, else Gloo;
// null when only NCCL exists and `t` is on the CPU.
inline compat::C10dGroup* GroupFor(const ProcessGroupState::Groups& g,
                                   const at::Tensor& t) {
  if (g.nccl && t.is_cuda()) return g.nccl.get();
  return g.gloo.get();
}
#endif

}  // namespace sniper

#endif  // SNIPER_SNIPER_PROCESS_GROUPS_H_
