#!/usr/bin/env bash
# Sourced by tools/gpu/check.sh and measure.sh: runs their Python driver
# with the start time and the Bazel build command for the device after
# "--" (CUDA: tools/gpu/env.sh's Bazel and flags; CPU: Debian's).
#   gpu_launch tools/gpu/check.py "$@"
gpu_launch() {
  local driver="$1" start device=cuda a
  shift
  start=$(date +%s)
  for a in "$@"; do
    case "$a" in
      --device=*) device="${a#*=}" ;;
    esac
  done
  if [ "$device" = cuda ]; then
    source tools/gpu/env.sh || exit 1
    bazel_cmd=("${GPU_BAZEL[@]}" build "${GPU_BAZEL_FLAGS[@]}")
  else
    source tools/bazel_flags.sh
    bazel_cmd=(bazel build "${BAZEL_FLAGS[@]}")
  fi
  exec python3 "$driver" --start="$start" "$@" -- "${bazel_cmd[@]}"
}
