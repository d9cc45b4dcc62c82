#!/usr/bin/env bash
# Run on a CPU machine (network to npm and Debian): prepares .gpu_carry/
# (git-ignored) for the GPU machine, which has PyTorch, nvcc and a compiler
# but no Java (so no Debian Bazel), no network and a 64 MiB limit on what
# is sent:
#   .gpu_carry/bazel            the self-contained Bazel 2.1.0 from npm
#                               (JDK embedded; our WORKSPACE loads in it)
#   .gpu_carry/prefix.tar.gz    glog, gflags, absl, protobuf (+ protoc),
#                               gtest/gmock, benchmark, simdjson,
#                               libjpeg-turbo, libpng, unwind, cairo (with
#                               fontconfig, freetype, its X libraries and
#                               DejaVu fonts) from Debian
#                               bookworm, unpacked with dpkg -x (no docs, no
#                               static libraries except the test ones)
#   .gpu_carry/coco_subset/     the first coco_mini images (by id) within
#                               8 MiB and their annotations, for the
#                               paper-setting benchmarks (tools/gpu/measure.sh;
#                               skipped without ../shared/data/coco_mini)
# Then, with the device tool:
#   run(command="bash tools/gpu/build.sh", carry=[".gpu_carry"])
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu_carry
PKGS=(libgoogle-glog0v6 libgoogle-glog-dev libgflags2.2 libgflags-dev
      libprotobuf32 libprotobuf-dev protobuf-compiler libprotoc32
      libabsl20220623 libabsl-dev libunwind8 libunwind-dev
      libsimdjson14 libsimdjson-dev libturbojpeg0 libturbojpeg0-dev
      libjpeg62-turbo libjpeg62-turbo-dev libpng16-16 libpng-dev zlib1g-dev
      libgtest-dev libgmock-dev libbenchmark1debian libbenchmark-dev
      libcairo2 libcairo2-dev libpixman-1-0 libfontconfig1 fontconfig-config
      libfreetype6 libbrotli1 libexpat1 libexpat1-dev libyaml-0-2 libyaml-dev
      libx11-6 libxcb1
      libxcb-render0 libxcb-shm0 libxext6 libxrender1 libxau6 libxdmcp6
      libbsd0 libmd0 fonts-dejavu-core)
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @bazel/bazel-linux_x64@2.1.0 > /dev/null &&
  tar xzf bazel-bazel-linux_x64-2.1.0.tgz)
mv "$work/package/bazel-2.1.0-linux-x86_64" "$out/bazel"
chmod +x "$out/bazel"
mkdir -p "$work/debs" "$work/prefix"
(cd "$work/debs" && apt-get download "${PKGS[@]}" 2> /dev/null)
for d in "$work"/debs/*.deb; do dpkg -x "$d" "$work/prefix"; done
rm -rf "$work"/prefix/usr/share/{doc,man,lintian,bug}
# The pictures use DejaVu Sans and its bold only.
find "$work/prefix/usr/share/fonts" -name '*.ttf' ! -name DejaVuSans.ttf \
  ! -name DejaVuSans-Bold.ttf -delete
find "$work/prefix" -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' \
  ! -name 'libbenchmark_main*' -delete
tar czf "$out/prefix.tar.gz" -C "$work" prefix
coco="${SNIPER_SHARED_DATA:-$(pwd)/../shared/data}/coco_mini"
if [ -f "$coco/instances.json" ]; then
  python3 tools/gpu/coco_subset.py --source="$coco" --out="$out/coco_subset" \
    --max_mib="${SNIPER_GPU_COCO_MIB:-8}"
else
  echo "no $coco: .gpu_carry has no coco_subset (measure.sh's COCO cases skip)"
fi
du -sh "$out"/*
total=$(( $(du -sb "$out" | cut -f1) + $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) ))
echo "carry + working tree: $((total / 1048576)) MiB (limit 64)"
[ "$total" -lt $((64 * 1048576)) ]
