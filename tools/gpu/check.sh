#!/usr/bin/env bash
# The CUDA correctness check for a short GPU window, as one command: builds
# only what it runs, then, within a deadline, runs the CUDA op tests (GPU vs
# CPU on adversarial inputs), the same under compute-sanitizer (memcheck;
# racecheck for the kernels with shared memory), the trainer's smoke test
# on CUDA in BF16, NCCL with one launched process, Gloo with 2 processes
# sharing the GPU, and a short default training on CUDA whose loss must
# fall as the same run's on the CPU. Writes check.json, check.log, the two
# runs' metrics.csv and their loss curves under $OUT (or --out), and prints
# a table last.
#
#   On the GPU machine (tools/gpu/pack.sh here first):
#     run(command="bash tools/gpu/check.sh --deadline_s=540", carry=[".gpu_carry"])
#   Dry run on a CPU machine (Debian's Bazel and LibTorch; CPU vs CPU):
#     bash tools/gpu/check.sh --device=cpu --steps=30 --out=/tmp/check
#
# Options: --device=cuda|cpu (default cuda), --deadline_s=N (default 540:
# every step ends, or is left out, before N seconds from the start),
# --steps=N (the short training; default 300), --out=DIR (default $OUT).
# Exit status: 0 when every step that ran passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tools/gpu/launch.sh
gpu_launch tools/gpu/check.py "$@"
