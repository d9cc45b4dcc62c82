#!/usr/bin/env bash
# Installs what sniper-cpp needs on Debian 12 (bookworm) or Debian 13
# (trixie), skipping what is there. The package set is chosen by
# /etc/os-release: the same names on both today (bookworm brings LibTorch
# 1.13, Abseil 20220623; trixie LibTorch 2.6, Abseil 20240722); the build
# adapts to the versions (port/torch_compat.h, third_party/system_repos.bzl).
# Needs root (or sudo) only when something is missing. Idempotent.
set -euo pipefail

. /etc/os-release 2> /dev/null || true
case "${ID:-}:${VERSION_CODENAME:-}" in
  debian:bookworm | debian:trixie) ;;
  *)
    echo "install_deps: ${PRETTY_NAME:-this system} is neither Debian 12 (bookworm) nor" \
      "13 (trixie); trying Debian's package names anyway" >&2
    ;;
esac

PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3 (offline-capable with our WORKSPACE)
  g++ python3 git        # git: the performance gate's A/B (tools/perf/ab.sh)
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libbenchmark-tools python3-scipy  # compare.py and its U test (tools/perf/ab.sh)
  python3-matplotlib     # the docs' charts (tools/perf/report.py, tools/plot_pixels.py)
  libsimdjson-dev libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
  libcairo2-dev fonts-dejavu-core  # pictures: cairo (viz/canvas.h), its font
  libexpat1-dev libyaml-dev  # Pascal VOC XML, YOLO data.yaml (data/)
  libtorch-dev           # LibTorch: 1.13 on bookworm, 2.6 on trixie (CPU)
  libgloo-dev            # Gloo headers for c10d ProcessGroupGloo (multi-process)
  python3-torchvision    # torchvision's C++ kernels: test oracle, benchmark peer
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_deps: need root to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

if [ ! -x /usr/local/cuda/bin/nvcc ] && [ -z "${SNIPER_CUDA_PATH:-}" ]; then
  echo "install_deps: note: no CUDA toolkit at /usr/local/cuda; CUDA kernels are" \
       "left out of this build (set SNIPER_CUDA_PATH to use one elsewhere)."
fi
