# Sourced by tools/gpu/build.sh and tools/gpu/check.sh on the GPU machine
# (after tools/gpu/pack.sh on a CPU machine, with .gpu_carry carried): prints
# the machine (OS, glibc, compiler, nvcc, GPU, PyTorch and its C++ ABI) and
# sets
#   GPU_BAZEL        the carried Bazel 2.1.0 with its output root
#   GPU_BAZEL_FLAGS  LibTorch 2.x from the installed PyTorch, the carried
#                    Debian libraries, nvcc from SNIPER_CUDA_PATH, and the
#                    wheel's C++ standard and string ABI
# Returns non-zero (the caller stops) when .gpu_carry is missing.
carry="$(pwd)/.gpu_carry"
root="${SNIPER_GPU_ROOT:-/tmp/sniper_gpu}"
if [ ! -x "$carry/bazel" ]; then
  echo "no .gpu_carry/bazel: run tools/gpu/pack.sh and carry .gpu_carry" >&2
  return 1
fi
( . /etc/os-release 2>/dev/null; echo "OS: ${PRETTY_NAME:-?}" )
ldd --version 2>/dev/null | head -1
g++ --version | head -1
nvcc --version 2>/dev/null | tail -1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)'
mkdir -p "$root"
[ -d "$root/prefix" ] || tar xzf "$carry/prefix.tar.gz" -C "$root"
export SNIPER_SYSTEM_PREFIX="$root/prefix/usr"
export SNIPER_TORCH_PREFIX="$torch_dir"
export SNIPER_CUDA_PATH="${SNIPER_CUDA_PATH:-/usr/local/cuda}"
export PATH="$root/prefix/usr/bin:$SNIPER_CUDA_PATH/bin:$PATH"
export LD_LIBRARY_PATH="$root/prefix/usr/lib/x86_64-linux-gnu:$torch_dir/lib:${LD_LIBRARY_PATH:-}"
# The pictures' text (cairo through fontconfig): the carried configuration,
# pointed at the carried DejaVu fonts (the machine may have none).
if [ -f "$root/prefix/etc/fonts/fonts.conf" ] && [ ! -f "$root/fonts.conf" ]; then
  sed "s|<dir>/usr/share/fonts</dir>|<dir>$root/prefix/usr/share/fonts</dir>|" \
    "$root/prefix/etc/fonts/fonts.conf" > "$root/fonts.conf"
fi
[ -f "$root/fonts.conf" ] && export FONTCONFIG_FILE="$root/fonts.conf"
# The wheel's C++ ABI (pip wheels switched to the C++11 ABI in 2.7) and
# language standard: PyTorch moved its own build to C++20 in 2026, so try
# its headers with C++17 (the project's default) and fall back to C++20.
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
std=c++17
echo '#include <torch/torch.h>' > "$root/std_check.cc"
if ! g++ -std=c++17 -fsyntax-only -D_GLIBCXX_USE_CXX11_ABI="$abi" \
    -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include" \
    -isystem "$SNIPER_CUDA_PATH/include" "$root/std_check.cc" 2> "$root/std_check.err"; then
  echo "torch/torch.h does not compile as C++17:"; head -5 "$root/std_check.err"
  std=c++20
fi
echo "building with -std=$std -D_GLIBCXX_USE_CXX11_ABI=$abi"
[ "$abi" = 1 ] || echo "warning: this PyTorch uses the pre-C++11 string ABI and the" \
  "carried Debian libraries the C++11 one: expect link errors across them"
GPU_BAZEL=("$carry/bazel" --output_user_root="$root/bazel")
GPU_BAZEL_FLAGS=(--action_env=PATH --action_env=LD_LIBRARY_PATH
  --test_env=LD_LIBRARY_PATH --cxxopt=-std=$std --host_cxxopt=-std=$std
  --copt=-D_GLIBCXX_USE_CXX11_ABI="$abi")
