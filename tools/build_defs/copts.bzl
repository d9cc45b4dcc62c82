"""The one place that sets compiler options for sniper-cpp's own code.

Warnings stay on (no blanket -w); third-party headers are system includes and
do not warn. Dropping an absl::Status is an error (-Werror=unused-result).
"""

SNIPER_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-sign-compare",
    "-Werror=unused-result",
    "-Werror=return-type",
    # Optimized even in Bazel's default fastbuild mode: tests run property
    # checks over thousands of cases and the CI perf gate runs benchmarks.
    "-O2",
]

SNIPER_TEST_COPTS = SNIPER_COPTS

# Hot CPU loops (ops/cpu/ kernels, data/ image resampling and synthetic
# rendering): GCC's -O2 uses the "very cheap" vectorizer cost model, which
# leaves the branch-free loops scalar; -O3 vectorizes them. The only place
# -O3 is set (tools/build_defs/cuda.bzl sets nvcc's own).
SNIPER_KERNEL_COPTS = SNIPER_COPTS + ["-O3"]
