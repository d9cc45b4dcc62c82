"""cuda_library: .cu files compiled by nvcc, linkable into cc targets.

Bazel has no native CUDA rule and rules_cuda cannot be downloaded. Each .cu
becomes one genrule that runs nvcc (-fPIC, C++17) into an object file; a
cc_library lists the objects in `srcs`, so cc_binary/cc_test link them like
any other library. Headers in `hdrs` are inputs of the nvcc step (keep .cu files
self-contained: CUDA runtime and standard headers plus their own `hdrs`).

The CUDA toolkit comes from @cuda (SNIPER_CUDA_PATH, default /usr/local/cuda).
Where it is missing the library still exists but has no kernels and defines
SNIPER_NO_CUDA, so host code compiles its `#ifndef SNIPER_NO_CUDA` paths out.
"""

load("@cuda//:defs.bzl", "CUDA_AVAILABLE", "NVCC")

# sm_80 (A100), sm_90 (H100/H200) as SASS, plus compute_90 PTX so newer GPUs
# can JIT.
CUDA_ARCH_FLAGS = [
    "-gencode arch=compute_80,code=sm_80",
    "-gencode arch=compute_90,code=sm_90",
    "-gencode arch=compute_90,code=compute_90",
]

def cuda_library(name, srcs, hdrs = [], deps = [], nvcc_flags = [], visibility = None, testonly = False):
    if not CUDA_AVAILABLE:
        native.cc_library(
            name = name,
            hdrs = hdrs,
            deps = deps,
            defines = ["SNIPER_NO_CUDA"],
            visibility = visibility,
            testonly = testonly,
        )
        return
    objs = []
    for src in srcs:
        obj = src + ".o"
        native.genrule(
            name = name + "_" + src.replace("/", "_").replace(".", "_"),
            srcs = [src] + hdrs,
            outs = [obj],
            cmd = " ".join([
                NVCC,
                "-std=c++17",
                "-O3",
                "-Xcompiler -fPIC",
                "--expt-relaxed-constexpr",
                "-I.",
                "-I$(GENDIR)",
            ] + CUDA_ARCH_FLAGS + nvcc_flags + [
                "-c $(location %s)" % src,
                "-o $@",
            ]),
            message = "nvcc " + src,
            testonly = testonly,
        )
        objs.append(obj)
    native.cc_library(
        name = name,
        srcs = objs,
        hdrs = hdrs,
        deps = deps + ["@cuda//:cudart"],
        visibility = visibility,
        testonly = testonly,
    )
