"""sniper_fuzz_test: a libFuzzer target (LLVMFuzzerTestOneInput) that is
also a test: by default it links tools/fuzz:replay_main and runs its seed
corpus plus deterministic mutations (CI, with --config=asan under ASan +
UBSan); with --config=libfuzzer (tools/fuzz/run.sh) it is a libFuzzer
binary."""

load("//tools/build_defs:copts.bzl", "SNIPER_COPTS")

def sniper_fuzz_test(name, srcs, deps, corpus):
    """`corpus`: a directory of seed files in this package."""
    native.cc_test(
        name = name,
        size = "small",
        srcs = srcs,
        copts = SNIPER_COPTS,
        deps = deps + select({
            "//tools/fuzz:libfuzzer": [],
            "//conditions:default": ["//tools/fuzz:replay_main"],
        }),
        data = native.glob([corpus + "/**"]),
        args = [native.package_name() + "/" + corpus],
        tags = ["fuzz"],
    )
